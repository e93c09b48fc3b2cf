// Settings checks shared by the optimizers: PyTorch's messages ("Invalid
// learning rate: -1"), and refusals of unknown or mistyped settings that
// PyTorch would take as keyword-argument errors.

import { describeValue } from "../graph.ts";
import { FormatError } from "../errors.ts";
import { Tensor } from "../tensor.ts";
import type { ParamGroup, Params } from "./optimizer.ts";

/** The params argument as groups, or a message that says what to pass instead. */
export function groupsOf<O>(kind: string, params: Params<O>): ParamGroup<O>[] {
  const given: unknown = params;
  const wrong = (hint: string) =>
    new TypeError(`${kind}: params must be an iterable of Tensors or of parameter groups, but got ${describeValue(given)}${hint}`);
  if (given instanceof Tensor) throw wrong(": pass [tensor]");
  if (given !== null && typeof given === "object" && typeof (given as { parameters?: unknown }).parameters === "function") {
    throw wrong(": pass model.parameters()");
  }
  if (given === null || typeof given !== "object" || typeof (given as Iterable<unknown>)[Symbol.iterator] !== "function") throw wrong("");
  const list = [...(given as Iterable<unknown>)];
  if (list.length === 0) throw new RangeError("optimizer got an empty parameter list");
  return list[0] instanceof Tensor ? [{ params: list } as ParamGroup<O>] : (list as ParamGroup<O>[]);
}

/**
 * `base` with `given`'s settings on top. An undefined setting keeps the base
 * value (`{ weightDecay: undefined }` means the default), and an unknown name
 * is refused: a PyTorch spelling such as weight_decay would otherwise be
 * ignored without a word.
 */
export function withOptions<O>(kind: string, where: string, given: unknown, base: Required<O>, isGroup: boolean): Required<O> {
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError(`${kind}: ${where} must be an object of settings, got ${describeValue(given)}`);
  }
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (isGroup && k === "params") continue;
    if (!Object.hasOwn(base, k)) {
      const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = camel !== k && Object.hasOwn(base, camel) ? `did you mean "${camel}"?` : `${kind} takes ${Object.keys(base).join(", ")}`;
      throw new TypeError(`${kind}: unknown setting "${k}" in ${where} (${hint})`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out as Required<O>;
}

export function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

/** A finite number ≥ min; non-numbers fail too (a string "0.1" would be coerced by the kernel call). */
export function atLeast(v: unknown, min: number): boolean {
  return typeof v === "number" && Number.isFinite(v) && v >= min;
}

export function show(v: unknown): string {
  return typeof v === "number" ? String(v) : describeValue(v);
}

export function checkFlags(kind: string, g: Record<string, unknown>, names: string[]): void {
  for (const n of names) {
    if (typeof g[n] !== "boolean") throw new TypeError(`${kind}: ${n} must be true or false, got ${describeValue(g[n])}`);
  }
}

/** The state entries a loaded state must have, as Tensors, besides a numeric step where listed. */
export function requireState(st: Record<string, unknown>, where: string, tensors: string[], step: boolean, why = ""): void {
  const needed = [...(step ? ["step"] : []), ...tensors];
  const missing = needed.filter((k) => !(k in st));
  if (missing.length) throw new FormatError(`${where} lacks ${missing.join(", ")}${why}`);
  for (const k of tensors) if (!(st[k] instanceof Tensor)) throw new FormatError(`${where}: ${k} must be a Tensor`);
  if (step && typeof st.step !== "number") throw new FormatError(`${where}: step must be a number`);
}
