// The command line's vocabulary: the sub-commands, the options each accepts
// (node:util parseArgs' table) and the arguments each parses into.

import type { ParseArgsConfig } from "node:util";
import type { BackendName } from "../index.ts";
import type { OptimizerName } from "../training.ts";
import type { Penalty, Via } from "../experiments/weight-decay.ts";

import type { CommandName } from "./command-names.ts";
export { COMMANDS, type CommandName } from "./command-names.ts";

export interface CommonArgs {
  json: boolean;
  quiet: boolean;
  /** SVG file for the book's figures. */
  plot?: string;
  seed: number;
  backend: BackendName;
}

export interface WeightDecayArgs extends CommonArgs {
  command: "weight-decay";
  lambd: number[];
  penalty: Penalty;
  via: Via;
  epochs: number;
  lr: number;
  batchSize: number;
}

export interface DropoutArgs extends CommonArgs {
  command: "dropout";
  dropout: [number, number];
  hidden: [number, number];
  /** Undefined: the optimizer's default (0, AdamW 1e-2). */
  weightDecay?: number;
  l1: number;
  /** Undefined: the optimizer's default (SGD 0.5, Adam/AdamW 1e-3). */
  lr?: number;
  batchSize: number;
  epochs: number;
  optimizer: OptimizerName;
  momentum: number;
  threads?: number;
  data?: string;
  save?: string;
  /** Hidden (for tests): batches per epoch. */
  limitBatches?: number;
}

export interface LenetArgs extends CommonArgs {
  command: "lenet";
  lr: number;
  batchSize: number;
  epochs: number;
  threads?: number;
  data?: string;
  save?: string;
  /** Hidden (for tests): batches per epoch. */
  limitBatches?: number;
}

export interface DemoArgs extends CommonArgs {
  command: "demo";
  /** Epochs of the MLP (the book's 5). */
  epochs: number;
  data?: string;
  /** Hidden (for tests): batches per MLP epoch. */
  limitBatches?: number;
  /** Hidden (for tests): epochs of each weight-decay variant (the book's 100). */
  wdEpochs?: number;
}

export type ParsedArgs =
  | WeightDecayArgs
  | DropoutArgs
  | LenetArgs
  | DemoArgs
  | { command: "help"; topic?: CommandName }
  | { command: "version" };

export type Options = NonNullable<ParseArgsConfig["options"]>;

const COMMON: Options = {
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  plot: { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** The options of the commands that train a network on Fashion-MNIST (dropout, lenet). */
const FASHION_MNIST_TRAINING: Options = {
  ...COMMON,
  lr: { type: "string" },
  "batch-size": { type: "string" },
  epochs: { type: "string" },
  threads: { type: "string" },
  data: { type: "string" },
  save: { type: "string" },
  "limit-batches": { type: "string" },
};

export const OPTIONS: Record<CommandName, Options> = {
  "weight-decay": {
    ...COMMON,
    lambd: { type: "string", multiple: true },
    penalty: { type: "string" },
    via: { type: "string" },
    epochs: { type: "string" },
    lr: { type: "string" },
    "batch-size": { type: "string" },
  },
  dropout: {
    ...FASHION_MNIST_TRAINING,
    dropout: { type: "string" },
    hidden: { type: "string" },
    "weight-decay": { type: "string" },
    l1: { type: "string" },
    optimizer: { type: "string" },
    momentum: { type: "string" },
  },
  lenet: FASHION_MNIST_TRAINING,
  demo: {
    ...COMMON,
    epochs: { type: "string" },
    data: { type: "string" },
    "limit-batches": { type: "string" },
    "wd-epochs": { type: "string" },
  },
};
