// Activation layers beyond ReLU (which lives in layers.ts, where it fuses with Linear and Dropout).

import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
