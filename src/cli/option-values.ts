// Option values checked one at a time: numbers, choices, lists, an existing
// directory, a writable output file. Each bad value is a UsageError naming the option.

import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { MAX_THREADS } from "../backend/threads.ts";
import { UsageError } from "../errors.ts";
import type { CommandName } from "./commands.ts";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function parseNumber(name: string, raw: string, check: (x: number) => boolean, what: string, command: CommandName): number {
  const x = NUMBER.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(raw)}`, command);
  return x;
}

export const isPositiveInt = (x: number) => Number.isSafeInteger(x) && x > 0;

/** --threads: a positive integer, at most setNumThreads' limit. */
export function parseThreads(raw: string, command: CommandName): number {
  const n = parseNumber("threads", raw, isPositiveInt, "a positive integer", command);
  if (n > MAX_THREADS) throw new UsageError(`--threads must be at most ${MAX_THREADS}, got ${JSON.stringify(raw)}`, command);
  return n;
}

export function list(raw: string | string[]): string[] {
  return (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(",")).map((s) => s.trim());
}

export function choice<T extends string>(name: string, raw: string | undefined, choices: readonly T[], fallback: T, command: CommandName): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be ${choices.join(" or ")}, got ${JSON.stringify(raw)}`, command);
  }
  return raw as T;
}

export function existingDir(name: string, raw: string, command: CommandName): string {
  const path = resolve(raw);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new UsageError(`--${name} ${raw}: no such directory`, command);
  }
  return path;
}

/** An output file: its directory must exist (checked before a long run, not after). */
export function outputFile(name: string, raw: string, ext: string, command: CommandName): string {
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

/** --save: a .safetensors file that can be written. */
export function checkSave(raw: string, command: CommandName): string {
  return outputFile("save", raw, ".safetensors", command);
}
