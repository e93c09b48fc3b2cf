// The nn namespace: modules, layers, losses, init and functional.
export { Module, KeyError, type StateDict, type LoadResult } from "./module.ts";
export { Sequential, ModuleList } from "./containers.ts";
export { Parameter, isParameter, type ParameterFunction } from "./parameter.ts";
export { Linear, ReLU, Dropout, Flatten, MSELoss, CrossEntropyLoss } from "./layers.ts";
export { Tanh, Sigmoid, Softmax, LogSoftmax, Identity, LeakyReLU, GELU } from "./activations.ts";
export { NLLLoss, L1Loss, BCELoss, BCEWithLogitsLoss } from "./losses.ts";
export { Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, type Conv2dOptions, type BatchNormModuleOptions } from "./conv.ts";
export type { Size2, Pool2dOptions, BatchNormOptions, Conv2dOptions as Conv2dFunctionalOptions } from "./conv-functional.ts";
export * as init from "./init.ts";
export * as utils from "./utils.ts";
export * as functional from "./functional.ts";
