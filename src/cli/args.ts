// The command line: picks the sub-command, runs node:util parseArgs on the
// rest with that command's option table (commands.ts), and turns every bad
// argument into a UsageError (exit code 2). The help text is in help.ts.

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { COMMANDS, OPTIONS, type CommandName, type CommonArgs, type ParsedArgs } from "./commands.ts";
import { checkSave, choice, existingDir, isPositiveInt, list, outputFile, parseNumber, parseThreads } from "./option-values.ts";

export { UsageError } from "../errors.ts";
export { HELP } from "./help.ts";
export { COMMANDS, type CommandName, type CommonArgs, type DemoArgs, type DropoutArgs, type LenetArgs, type ParsedArgs, type WeightDecayArgs } from "./commands.ts";

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

/** The options dropout and lenet share: the run's length, threads, data and where the model goes. */
function fashionMnistRun(v: Values, command: "dropout" | "lenet", defaultEpochs: number) {
  const str = (k: string) => v[k] as string | undefined;
  const save = str("save");
  return {
    batchSize: str("batch-size") === undefined ? 256 : parseNumber("batch-size", str("batch-size")!, isPositiveInt, "a positive integer", command),
    epochs: str("epochs") === undefined ? defaultEpochs : parseNumber("epochs", str("epochs")!, isPositiveInt, "a positive integer", command),
    threads: str("threads") === undefined ? undefined : parseThreads(str("threads")!, command),
    data: str("data") === undefined ? undefined : existingDir("data", str("data")!, command),
    save: save === undefined ? undefined : checkSave(save, command),
    limitBatches: str("limit-batches") === undefined ? undefined : parseNumber("limit-batches", str("limit-batches")!, isPositiveInt, "a positive integer", command),
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
    return {
      command, ...common(values, command), dropout, hidden, optimizer, momentum, l1,
      weightDecay: str("weight-decay") === undefined ? undefined : parseNumber("weight-decay", str("weight-decay")!, (x) => x >= 0, "a number ≥ 0", command),
      lr: str("lr") === undefined ? undefined : parseNumber("lr", str("lr")!, (x) => x > 0, "a number > 0", command),
      ...fashionMnistRun(values, command, 5),
    };
  }

  if (command === "lenet") {
    return {
      command, ...common(values, command),
      lr: str("lr") === undefined ? 0.9 : parseNumber("lr", str("lr")!, (x) => x > 0, "a number > 0", command),
      ...fashionMnistRun(values, command, 10),
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
