// optim: the optimizers (PyTorch 1.13's update rules, each step one fused kernel
// call per parameter), their Optimizer base for your own, and optim.lrScheduler.

export {
  Optimizer, type Hyperparameter, type OptimizerConfig, type OptimizerStateDict, type ParamGroup, type Params, type ParamState,
} from "./optim/optimizer.ts";
export { SGD, type SGDOptions } from "./optim/sgd.ts";
export { Adam, AdamW, type AdamOptions } from "./optim/adam.ts";
export { RMSprop, type RMSpropOptions } from "./optim/rmsprop.ts";
export { Adagrad, Adadelta, type AdagradOptions, type AdadeltaOptions } from "./optim/adagrad.ts";
export * as lrScheduler from "./optim/lr-scheduler.ts";
