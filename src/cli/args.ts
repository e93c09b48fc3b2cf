// The command line: sub-commands, their options (node:util parseArgs) and
// checks that turn every bad argument into a UsageError (exit code 2).

import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { BackendName } from "../index.ts";
import type { OptimizerName } from "../training.ts";
import type { Penalty, Via } from "../experiments/weight-decay.ts";
import { MAX_THREADS } from "../backend/threads.ts";

export const COMMANDS = ["weight-decay", "dropout", "lenet", "demo"] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A bad command line: main prints the message and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: CommandName) {
    super(message);
    this.name = "UsageError";
  }
}

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

type Options = NonNullable<ParseArgsConfig["options"]>;

const COMMON: Options = {
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  plot: { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const OPTIONS: Record<CommandName, Options> = {
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
    ...COMMON,
    dropout: { type: "string" },
    hidden: { type: "string" },
    "weight-decay": { type: "string" },
    l1: { type: "string" },
    lr: { type: "string" },
    "batch-size": { type: "string" },
    epochs: { type: "string" },
    optimizer: { type: "string" },
    momentum: { type: "string" },
    threads: { type: "string" },
    data: { type: "string" },
    save: { type: "string" },
    "limit-batches": { type: "string" },
  },
  lenet: {
    ...COMMON,
    lr: { type: "string" },
    "batch-size": { type: "string" },
    epochs: { type: "string" },
    threads: { type: "string" },
    data: { type: "string" },
    save: { type: "string" },
    "limit-batches": { type: "string" },
  },
  demo: {
    ...COMMON,
    epochs: { type: "string" },
    data: { type: "string" },
    "limit-batches": { type: "string" },
    "wd-epochs": { type: "string" },
  },
};

const COMMON_HELP = `Common options:
  --json                one JSON object per line on stdout: one per epoch, then a summary
  --plot FILE.svg       write the book's figures as an SVG file
  --seed N              random seed, a non-negative integer (default 0)
  --backend wasm|js     the compute backend (default wasm)
  -q, --quiet           no progress bar and no notes on stderr
  -h, --help            this help`;

export const HELP: Record<"main" | CommandName, string> = {
  main: `wasmgrad: the "Dive into Deep Learning" weight decay and dropout experiments, on a WebAssembly core

Usage: wasmgrad [command] [options]

Commands:
  weight-decay   high-dimensional linear regression with an L2 or L1 penalty
  dropout        the 784-256-256-10 MLP with dropout on Fashion-MNIST
  lenet          d2l's LeNet (sigmoid, average pooling) on Fashion-MNIST
  demo           both chapters with the book's settings (the default)

Run "wasmgrad <command> --help" for a command's options; "wasmgrad --version" for the version.
Results go to stdout (tables, or JSON lines with --json); progress and notes go to stderr.
Ctrl-C stops after the current batch and prints the results so far (exit code 130).
Exit codes: 0 done, 1 failed, 2 bad arguments, 130 interrupted.`,

  "weight-decay": `wasmgrad weight-decay: d2l "Weight decay", a linear regression with 200 inputs and 20 training examples

Usage: wasmgrad weight-decay [options]

Trains w (200 inputs, ~N(0,1) start) and b by SGD once per λ on the same data,
then reports train/test loss (mean (ŷ−y)²/2, without the penalty), ‖w‖ and the
share of |w| < 1e-3, next to PyTorch 1.13's range where the settings are the book's.

Options:
  --lambd LIST          penalty strengths λ ≥ 0, comma-separated or repeated (default 0,3)
  --penalty l2|l1       l2: λ·‖w‖²/2, l1: λ·Σ|w| (default l2)
  --via loss|optimizer  add the penalty to the loss (the book's from-scratch way) or let
                        SGD apply it (weightDecay / l1, weight only) (default loss)
  --epochs N            epochs per λ (default 100)
  --lr X                learning rate (default 0.003)
  --batch-size N        minibatch size (default 1)

${COMMON_HELP}

Examples:
  wasmgrad weight-decay --lambd 0,3 --plot weight-decay.svg
  wasmgrad weight-decay --penalty l1 --lambd 0.1,1,3
  wasmgrad weight-decay --via optimizer --lambd 3 --json`,

  dropout: `wasmgrad dropout: d2l "Dropout", a 784-H1-H2-10 MLP with dropout on Fashion-MNIST

Usage: wasmgrad dropout [options]

Flatten → Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear, all
parameters N(0, 0.01). Prints train loss/accuracy (train mode, before each step)
and test accuracy (eval mode) per epoch, next to PyTorch 1.13's range where the
settings and the data set are the book's.

Options:
  --dropout P[,P]       dropout probabilities of the two hidden layers, in [0, 1]
                        (one value for both) (default 0.2,0.5)
  --hidden N,N          sizes of the two hidden layers (default 256,256)
  --optimizer NAME      sgd, adam or adamw (default sgd)
  --lr X                learning rate (default 0.5 for sgd, 0.001 for adam/adamw)
  --momentum X          SGD momentum (default 0)
  --weight-decay X      weight decay on the weights, not the biases
                        (default 0; adamw: 0.01, PyTorch's)
  --l1 X                SGD's L1 penalty λ·Σ|w| on the weights (default 0)
  --batch-size N        minibatch size (default 256)
  --epochs N            epochs (default 5)
  --threads N           threads for the wasm backend's kernels (results are bitwise
                        the same for every N) (default: the logical CPUs, at most 8)
  --data DIR            directory with the four Fashion-MNIST IDX files (.gz or not);
                        default $FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist,
                        else the bundled 6000/1000-image subset
  --save FILE           save the trained model (its state dict, PyTorch's names:
                        1.weight, 1.bias, 4.weight, …) as a .safetensors file,
                        also when stopped with Ctrl-C

${COMMON_HELP}

Examples:
  wasmgrad dropout --plot dropout.svg
  wasmgrad dropout --dropout 0,0 --epochs 10
  wasmgrad dropout --optimizer adam --lr 0.001 --weight-decay 1e-4`,

  lenet: `wasmgrad lenet: d2l "Convolutional Neural Networks (LeNet)" on Fashion-MNIST

Usage: wasmgrad lenet [options]

Conv2d(1,6,5,pad 2) → Sigmoid → AvgPool2d(2) → Conv2d(6,16,5) → Sigmoid →
AvgPool2d(2) → Flatten → Linear(400,120) → Sigmoid → Linear(120,84) → Sigmoid →
Linear(84,10), Xavier-uniform weights, SGD, cross-entropy. With the book's
settings on the full data set each epoch is shown next to PyTorch 1.13's range
over 3 seeds.

Options:
  --lr X                learning rate (default 0.9, the book's)
  --batch-size N        minibatch size (default 256)
  --epochs N            epochs (default 10)
  --threads N           run the wasm backend's kernels on N threads (bitwise the same
                        results; default: the logical CPUs, at most 8)
  --data DIR            directory with the Fashion-MNIST IDX files (default: the installed
                        set, else the bundled subset)
  --save FILE           write the trained model as safetensors (PyTorch's names)

${COMMON_HELP}

Examples:
  wasmgrad lenet --plot lenet.svg
  wasmgrad lenet --epochs 2 --threads 2`,

  demo: `wasmgrad demo: both chapters with the book's settings (the default command)

Usage: wasmgrad [demo] [options]

Runs the six weight-decay variants of the chapter (100 epochs each), dropout from
scratch on a small tensor, and the dropout MLP on Fashion-MNIST (SGD lr 0.5,
batch 256), each next to PyTorch 1.13's range.

Options:
  --epochs N            epochs of the MLP (default 5, the book's)
  --data DIR            directory with the Fashion-MNIST IDX files (see wasmgrad dropout --help)

${COMMON_HELP}`,
};

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(name: string, raw: string, check: (x: number) => boolean, what: string, command: CommandName): number {
  const x = NUMBER.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(raw)}`, command);
  return x;
}

const isPositiveInt = (x: number) => Number.isSafeInteger(x) && x > 0;

/** --threads: a positive integer, at most setNumThreads' limit. */
function parseThreads(raw: string, command: CommandName): number {
  const n = parseNumber("threads", raw, isPositiveInt, "a positive integer", command);
  if (n > MAX_THREADS) throw new UsageError(`--threads must be at most ${MAX_THREADS}, got ${JSON.stringify(raw)}`, command);
  return n;
}

function list(raw: string | string[]): string[] {
  return (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(",")).map((s) => s.trim());
}

function choice<T extends string>(name: string, raw: string | undefined, choices: readonly T[], fallback: T, command: CommandName): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be ${choices.join(" or ")}, got ${JSON.stringify(raw)}`, command);
  }
  return raw as T;
}

function existingDir(name: string, raw: string, command: CommandName): string {
  const path = resolve(raw);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new UsageError(`--${name} ${raw}: no such directory`, command);
  }
  return path;
}

/** An output file: its directory must exist (checked before a long run, not after). */
function outputFile(name: string, raw: string, ext: string, command: CommandName): string {
  if (raw === "") throw new UsageError(`--${name} needs a file name`, command);
  if (extname(raw).toLowerCase() !== ext) {
    throw new UsageError(`--${name} writes ${ext.slice(1).toUpperCase()}: give a file name ending in ${ext}, got ${JSON.stringify(raw)}`, command);
  }
  const path = resolve(raw);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${name} ${raw}: no such directory ${dir}`, command);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--${name} ${raw} is a directory`, command);
  const unwritable = cannotWrite(path);
  if (unwritable) throw new UsageError(`--${name} ${raw}: ${unwritable}`, command);
  return path;
}

/**
 * Why `path` could not be written, or null if it can: found out by creating a
 * file beside it (as the save's temporary file will be) before training, not
 * after it, when the failure would lose the trained model.
 */
function cannotWrite(path: string): string | null {
  const probe = `${path}.${process.pid}.probe`;
  try {
    closeSync(openSync(probe, "wx"));
    rmSync(probe, { force: true });
    if (existsSync(path)) accessSync(path, constants.W_OK);
    return null;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const where = e.path === path ? path : dirname(path);
    return `cannot write ${e.path === path ? "" : "a file in "}${where} (${e.code ?? e.message})`;
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

function common(v: Values, command: CommandName): CommonArgs {
  const str = (k: string) => v[k] as string | undefined;
  return {
    json: v.json === true,
    quiet: v.quiet === true,
    plot: str("plot") === undefined ? undefined : outputFile("plot", str("plot")!, ".svg", command),
    seed: str("seed") === undefined ? 0 : parseNumber("seed", str("seed")!, (x) => Number.isSafeInteger(x) && x >= 0, "a non-negative integer", command),
    backend: choice("backend", str("backend"), ["wasm", "js"] as const, "wasm", command),
  };
}

/** Rewrites parseArgs' errors into short messages. */
function parseError(error: unknown, command: CommandName | undefined): UsageError {
  const e = error as { code?: string; message?: string };
  let message = e.message ?? String(error);
  // "Option '-q, --quiet' does not take an argument": the long name.
  const option = /'(?:-\w, )?(-[^', ]+)/.exec(message)?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") message = `unknown option ${option ?? message}`;
  else if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']*)'/.exec(message)?.[1];
    message = `unexpected argument ${JSON.stringify(arg ?? message)}`;
  } else if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) message = `${option} needs a value`;
    else if (/ambiguous/.test(message)) message = `${option} needs a value (for a value starting with "-", write ${option}=VALUE)`;
    else if (/does not take an argument/.test(message)) message = `${option} takes no value`;
  }
  return new UsageError(message, command);
}

/** Parses the arguments after `wasmgrad`. Throws UsageError for anything wrong. */
export function parseCommandLine(argv: string[]): ParsedArgs {
  const first = argv[0];
  if (first === "--version" || first === "-v") {
    if (argv.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(argv[1])} after ${first}`);
    return { command: "version" };
  }
  if (first === "help") {
    const topic = argv[1];
    if (topic === undefined) return { command: "help" };
    if (!(COMMANDS as readonly string[]).includes(topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}: expected ${COMMANDS.join(", ")}`);
    return { command: "help", topic: topic as CommandName };
  }
  let command: CommandName = "demo";
  let rest = argv;
  if (first !== undefined && !first.startsWith("-")) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new UsageError(`unknown command ${JSON.stringify(first)}: expected ${COMMANDS.join(", ")} (or none, for demo)`);
    }
    command = first as CommandName;
    rest = argv.slice(1);
  }
  const explicit = first !== undefined && !first.startsWith("-");
  if (rest.includes("--help") || rest.includes("-h")) return { command: "help", topic: explicit ? command : undefined };

  let values: Values;
  try {
    values = parseArgs({ args: rest, options: OPTIONS[command], strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    throw parseError(error, explicit ? command : undefined);
  }
  const str = (k: string) => values[k] as string | undefined;

  if (command === "weight-decay") {
    const rawLambd = values.lambd as string[] | undefined;
    const lambd = rawLambd === undefined
      ? [0, 3]
      : list(rawLambd).map((s) => parseNumber("lambd", s, (x) => x >= 0, "a comma-separated list of numbers ≥ 0", command));
    if (new Set(lambd).size !== lambd.length) throw new UsageError(`--lambd lists a value twice: ${rawLambd!.join(",")}`, command);
    return {
      command, ...common(values, command), lambd,
      penalty: choice("penalty", str("penalty"), ["l2", "l1"] as const, "l2", command),
      via: choice("via", str("via"), ["loss", "optimizer"] as const, "loss", command),
      epochs: str("epochs") === undefined ? 100 : parseNumber("epochs", str("epochs")!, isPositiveInt, "a positive integer", command),
      lr: str("lr") === undefined ? 0.003 : parseNumber("lr", str("lr")!, (x) => x > 0, "a number > 0", command),
      batchSize: str("batch-size") === undefined ? 1 : parseNumber("batch-size", str("batch-size")!, isPositiveInt, "a positive integer", command),
    };
  }

  if (command === "dropout") {
    const optimizer = choice("optimizer", str("optimizer"), ["sgd", "adam", "adamw"] as const, "sgd", command);
    let dropout: [number, number] = [0.2, 0.5];
    if (str("dropout") !== undefined) {
      const ps = list(str("dropout")!).map((s) => parseNumber("dropout", s, (x) => x >= 0 && x <= 1, "one or two probabilities in [0, 1]", command));
      if (ps.length > 2) throw new UsageError(`--dropout takes one or two probabilities (one per hidden layer), got ${ps.length}`, command);
      dropout = [ps[0], ps[1] ?? ps[0]];
    }
    let hidden: [number, number] = [256, 256];
    if (str("hidden") !== undefined) {
      const hs = list(str("hidden")!).map((s) => parseNumber("hidden", s, (x) => isPositiveInt(x) && x <= 65536, "two layer sizes (positive integers)", command));
      if (hs.length !== 2) throw new UsageError(`--hidden takes two layer sizes, e.g. 256,256, got ${JSON.stringify(str("hidden"))}`, command);
      hidden = [hs[0], hs[1]];
    }
    const momentum = str("momentum") === undefined ? 0 : parseNumber("momentum", str("momentum")!, (x) => x >= 0 && x < 1, "a number in [0, 1)", command);
    const l1 = str("l1") === undefined ? 0 : parseNumber("l1", str("l1")!, (x) => x >= 0, "a number ≥ 0", command);
    if (optimizer !== "sgd" && str("momentum") !== undefined) throw new UsageError(`--momentum is an SGD option; ${optimizer} has no momentum`, command);
    if (optimizer !== "sgd" && str("l1") !== undefined) throw new UsageError(`--l1 is an SGD option, not one of ${optimizer}`, command);
    const save = str("save");
    return {
      command, ...common(values, command), dropout, hidden, optimizer, momentum, l1,
      weightDecay: str("weight-decay") === undefined ? undefined : parseNumber("weight-decay", str("weight-decay")!, (x) => x >= 0, "a number ≥ 0", command),
      lr: str("lr") === undefined ? undefined : parseNumber("lr", str("lr")!, (x) => x > 0, "a number > 0", command),
      batchSize: str("batch-size") === undefined ? 256 : parseNumber("batch-size", str("batch-size")!, isPositiveInt, "a positive integer", command),
      epochs: str("epochs") === undefined ? 5 : parseNumber("epochs", str("epochs")!, isPositiveInt, "a positive integer", command),
      threads: str("threads") === undefined ? undefined : parseThreads(str("threads")!, command),
      data: str("data") === undefined ? undefined : existingDir("data", str("data")!, command),
      save: save === undefined ? undefined : checkSave(save, command),
      limitBatches: str("limit-batches") === undefined ? undefined : parseNumber("limit-batches", str("limit-batches")!, isPositiveInt, "a positive integer", command),
    };
  }

  if (command === "lenet") {
    const save = str("save");
    return {
      command, ...common(values, command),
      lr: str("lr") === undefined ? 0.9 : parseNumber("lr", str("lr")!, (x) => x > 0, "a number > 0", command),
      batchSize: str("batch-size") === undefined ? 256 : parseNumber("batch-size", str("batch-size")!, isPositiveInt, "a positive integer", command),
      epochs: str("epochs") === undefined ? 10 : parseNumber("epochs", str("epochs")!, isPositiveInt, "a positive integer", command),
      threads: str("threads") === undefined ? undefined : parseThreads(str("threads")!, command),
      data: str("data") === undefined ? undefined : existingDir("data", str("data")!, command),
      save: save === undefined ? undefined : checkSave(save, command),
      limitBatches: str("limit-batches") === undefined ? undefined : parseNumber("limit-batches", str("limit-batches")!, isPositiveInt, "a positive integer", command),
    };
  }

  return {
    command: "demo", ...common(values, "demo"),
    epochs: str("epochs") === undefined ? 5 : parseNumber("epochs", str("epochs")!, isPositiveInt, "a positive integer", "demo"),
    data: str("data") === undefined ? undefined : existingDir("data", str("data")!, "demo"),
    limitBatches: str("limit-batches") === undefined ? undefined : parseNumber("limit-batches", str("limit-batches")!, isPositiveInt, "a positive integer", "demo"),
    wdEpochs: str("wd-epochs") === undefined ? undefined : parseNumber("wd-epochs", str("wd-epochs")!, isPositiveInt, "a positive integer", "demo"),
  };
}

function checkSave(raw: string, command: CommandName): string {
  return outputFile("save", raw, ".safetensors", command);
}
