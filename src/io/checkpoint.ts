import { FormatError } from "../errors.ts";
import { describeLayers } from "../nn/layer-list.ts";
import { Module, type StateDict } from "../nn/module.ts";
import { Optimizer, type OptimizerStateDict } from "../optim.ts";
import { checkRngState, getRngState, setRngState } from "../random.ts";
import { Tensor } from "../tensor.ts";
import { describe, describeError, quoted } from "./messages.ts";
import { loadSafetensors, readSafetensorsHeader } from "./safetensors-read.ts";
import { saveSafetensors, type LoadOptions } from "./safetensors.ts";

// ---- checkpoints -------------------------------------------------------------
//
// A checkpoint is one safetensors file holding everything a training run needs
// to continue bit for bit: the model's parameters ("model.1.weight"), the
// optimizer's state tensors ("optim.state.0.momentumBuffer"), and as
// `__metadata__` strings the optimizer's hyperparameters and step counts
// ("optimizer", JSON), the random generator's position ("rng", JSON; dropout
// masks and DataLoader shuffles draw from it) and your own strings ("user.*").
// PyTorch's safetensors reads it like any other file, and
// tools/pytorch_handover.py continues the run in torch.nn + torch.optim: for
// that the metadata also names each optimizer parameter's model parameter
// ("paramNames" in "optimizer") and lists the layers ("layers", JSON). Both
// were added without a format change: older files lack them and still load.

/** What saveCheckpoint stores and loadCheckpoint restores. */
export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer<object, object>;
}

const CHECKPOINT_FORMAT = "wasmgrad-checkpoint/1";
const MODEL_PREFIX = "model.";
const OPTIM_PREFIX = "optim.state.";
const USER_PREFIX = "user.";

/** The optimizer's stateDict() without its tensors: what the "optimizer" metadata string holds. */
interface OptimizerMetadata {
  kind: string;
  paramGroups: OptimizerStateDict["paramGroups"];
  state: Record<string, Record<string, number>>;
  /** The model's name for parameter index i ("1.weight"), null for one outside the model; absent in older files. */
  paramNames?: (string | null)[];
}

/**
 * Serializes model + optimizer + random-generator state into one safetensors
 * file (bytes). Call it between steps, e.g. at the end of an epoch: a new
 * epoch's DataLoader draws its order from the restored generator, so resuming
 * gives the run the checkpoint interrupted, bit for bit. `metadata` keeps
 * strings of your own (the epoch, say), given back by loadCheckpoint.
 */
export function saveCheckpoint(parts: CheckpointParts & { metadata?: Record<string, string> }): Uint8Array {
  const { model, optimizer, metadata = {} } = checkParts(parts, "saveCheckpoint");
  const tensors: [string, Tensor][] = Object.entries(model.stateDict()).map(([k, t]) => [MODEL_PREFIX + k, t]);
  const meta: Record<string, string> = {
    format: CHECKPOINT_FORMAT, rng: JSON.stringify(getRngState()), layers: JSON.stringify(describeLayers(model)),
  };
  if (optimizer) {
    const sd = optimizer.stateDict();
    const scalars: OptimizerMetadata["state"] = {};
    for (const [index, state] of Object.entries(sd.state)) {
      for (const [key, value] of Object.entries(state)) {
        if (value instanceof Tensor) tensors.push([`${OPTIM_PREFIX}${index}.${key}`, value]);
        else (scalars[index] ??= {})[key] = value;
      }
    }
    const paramNames = optimizerParamNames(model, optimizer);
    meta.optimizer = JSON.stringify({ kind: optimizer.kind, paramGroups: sd.paramGroups, state: scalars, paramNames } satisfies OptimizerMetadata);
  }
  if (metadata === null || typeof metadata !== "object") {
    throw new TypeError(`saveCheckpoint: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) meta[USER_PREFIX + key] = value;
  return saveSafetensors(tensors, meta);
}

/**
 * Restores a saveCheckpoint file into `model` (strictly: every parameter, no
 * other), `optimizer` (when given; a checkpoint without optimizer state is
 * refused then) and the global random generator. Everything is checked before
 * anything changes. Returns the metadata strings given to saveCheckpoint.
 */
export function loadCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  parts: CheckpointParts,
  options: LoadOptions = {},
): { metadata: Record<string, string> } {
  const { model, optimizer } = checkParts(parts, "loadCheckpoint");
  const where = `loadCheckpoint${options.name === undefined ? "" : ` (${options.name})`}`;
  const fail = (detail: string): never => {
    throw new FormatError(`${where}: ${detail}`);
  };
  const meta = readSafetensorsHeader(bytes, options).metadata ?? {};
  if (meta.format !== CHECKPOINT_FORMAT) {
    fail(
      `not a wasmgrad checkpoint (its metadata has no format "${CHECKPOINT_FORMAT}"); ` +
        "for a plain state dict use model.loadStateDict(io.loadSafetensors(bytes))",
    );
  }
  const savedRng = parseJson(meta.rng, "rng", fail);
  let rng: ReturnType<typeof checkRngState>;
  try {
    rng = checkRngState(savedRng, `${where}: rng`);
  } catch (error) {
    // setRngState's TypeError (a wrong argument) is, read from a file, a FormatError.
    throw new FormatError(describeError(error), { cause: error });
  }

  const loaded = loadSafetensors(bytes, options);
  try {
    const modelState: StateDict = Object.create(null);
    const optimTensors = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(loaded)) {
      if (name.startsWith(MODEL_PREFIX)) modelState[name.slice(MODEL_PREFIX.length)] = t;
      else if (name.startsWith(OPTIM_PREFIX)) optimTensors.set(name.slice(OPTIM_PREFIX.length), t);
      else fail(`unexpected tensor ${quoted(name)}: checkpoint tensors are named "${MODEL_PREFIX}…" or "${OPTIM_PREFIX}…"`);
    }

    model.checkStateDict(modelState);
    let optimState: OptimizerStateDict | null = null;
    if (optimizer) {
      if (meta.optimizer === undefined) fail("the checkpoint holds no optimizer state, but an optimizer was given to restore");
      const saved = parseJson(meta.optimizer, "optimizer", fail) as OptimizerMetadata;
      if (saved?.kind !== optimizer.kind) {
        fail(`the checkpoint holds ${String(saved?.kind)} state, but the optimizer given is ${optimizer.kind}`);
      }
      checkParamNames(saved.paramNames, optimizerParamNames(model, optimizer), fail);
      const state: OptimizerStateDict["state"] = {};
      for (const [index, scalars] of Object.entries(saved.state ?? {})) state[Number(index)] = { ...scalars };
      for (const [name, t] of optimTensors) {
        const dot = name.indexOf(".");
        (state[Number(name.slice(0, dot))] ??= {})[name.slice(dot + 1)] = t;
      }
      optimState = { state, paramGroups: saved.paramGroups };
      optimizer.checkStateDict(optimState);
    }
    // Both were checked above: a bad checkpoint has thrown before the model, the optimizer or the generator changed.
    model.loadStateDict(modelState);
    if (optimizer && optimState) optimizer.loadStateDict(optimState);
    setRngState(rng);
  } finally {
    for (const t of Object.values(loaded)) t.dispose();
  }
  const user: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (key.startsWith(USER_PREFIX)) user[key.slice(USER_PREFIX.length)] = value;
  return { metadata: user };
}

/** Each optimizer parameter's name in the model, by index (the order of stateDict().paramGroups). */
function optimizerParamNames(model: Module, optimizer: Optimizer<object, object>): (string | null)[] {
  const names = new Map(model.namedParameters().map(([name, p]) => [p, name]));
  return optimizer.paramGroups.flatMap((g) => g.params.map((p) => names.get(p) ?? null));
}

/**
 * A checkpoint written by PyTorch (or by code that grouped the parameters
 * differently) would otherwise load one parameter's momentum into another of
 * the same shape without a word.
 */
function checkParamNames(saved: unknown, own: (string | null)[], fail: (detail: string) => never): void {
  if (saved === undefined) return;
  if (!Array.isArray(saved) || saved.length !== own.length) {
    fail(`the optimizer state names ${Array.isArray(saved) ? saved.length : describe(saved)} parameters, the optimizer given has ${own.length}`);
  }
  own.forEach((name, i) => {
    const theirs: unknown = saved[i];
    if (theirs !== null && name !== null && theirs !== name) {
      fail(`optimizer parameter ${i} is the model's ${quoted(String(theirs))} in the checkpoint, but ${quoted(name)} in the optimizer given (are the parameter groups in the same order?)`);
    }
  });
}

function checkParts<P extends CheckpointParts>(parts: P, where: string): P {
  if (parts === null || typeof parts !== "object" || !(parts.model instanceof Module)) {
    throw new TypeError(`${where}: expected { model, optimizer? } with an nn.Module as model, got ${describe(parts?.model ?? parts)}`);
  }
  if (parts.optimizer !== undefined && !(parts.optimizer instanceof Optimizer)) {
    throw new TypeError(`${where}: optimizer must be an optim.SGD, Adam or AdamW, got ${describe(parts.optimizer)}`);
  }
  return parts;
}

function parseJson(text: string | undefined, key: string, fail: (detail: string) => never): unknown {
  if (text === undefined) fail(`the metadata has no "${key}" entry`);
  try {
    return JSON.parse(text!);
  } catch (error) {
    return fail(`the metadata's "${key}" entry is not valid JSON: ${describeError(error)}`);
  }
}
