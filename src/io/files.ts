// .safetensors files on disk (Node only).

import { IOError } from "../errors.ts";
import type { StateDict } from "../nn/module.ts";
import { describeError } from "./messages.ts";
import { loadSafetensors } from "./safetensors-read.ts";
import { saveSafetensors, type StateDictInput } from "./safetensors.ts";

// ---- files (Node) ------------------------------------------------------------

/** Writes `stateDict` to a .safetensors file (Node only); IOError if it cannot be written. */
export async function saveFile(path: string, stateDict: StateDictInput, metadata?: Record<string, string>): Promise<void> {
  const bytes = saveSafetensors(stateDict, metadata);
  const fs = await nodeFs();
  await fs.writeFile(path, bytes).catch((error: unknown) => {
    throw new IOError(`saveFile: could not write ${path}: ${describeError(error)}`, { cause: error });
  });
}

/** Reads a .safetensors file into a state dict (Node only); errors name the file (IOError if it cannot be read). */
export async function loadFile(path: string): Promise<StateDict> {
  const fs = await nodeFs();
  const bytes = await fs.readFile(path).catch((error: unknown) => {
    throw new IOError(`loadFile: could not read ${path}: ${describeError(error)}`, { cause: error });
  });
  return loadSafetensors(bytes, { name: path });
}

/**
 * node:fs/promises, imported when a file function runs, under a computed name:
 * browser bundlers (Vite, esbuild --platform=browser) then neither resolve it nor warn.
 */
function nodeFs(): Promise<typeof import("node:fs/promises")> {
  const specifier = "node:fs/promises";
  return import(/* @vite-ignore */ specifier);
}
