// The nn namespace: modules, layers, losses, init and functional.
export { Module, Sequential, type StateDict, type LoadResult } from "./module.ts";
export { Linear, ReLU, Dropout, Flatten, MSELoss, CrossEntropyLoss } from "./layers.ts";
export { Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d } from "./conv.ts";
export { Sigmoid, Tanh } from "./activations.ts";
export * as init from "./init.ts";
export * as functional from "./functional.ts";
