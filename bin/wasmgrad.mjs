#!/usr/bin/env node
// The `wasmgrad` command. It runs src/cli/main.ts through tsx's ESM loader when
// tsx is installed (a clone with its devDependencies: always the source you have,
// no build step, no stale dist/), else the compiled dist/ (an installed package
// ships dist/ alone: no src/, no tsx). With neither, it says what to do.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const source = new URL("src/cli/main.ts", root);
// tsconfig.build.json keeps the src/ folder under dist/ (rootDir "."); dist/cli/ covers a rootDir of "src".
const compiled = ["dist/src/cli/main.js", "dist/cli/main.js"].map((p) => new URL(p, root)).find((u) => existsSync(u));

async function loadTsx() {
  try {
    return await import("tsx/esm/api");
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND") return null;
    throw error;
  }
}

async function load() {
  if (existsSync(source)) {
    const tsx = await loadTsx();
    if (tsx) {
      // The project's own tsconfig, whatever directory wasmgrad is run from.
      tsx.register({ tsconfig: fileURLToPath(new URL("tsconfig.json", root)) });
      return import(source.href);
    }
  }
  if (compiled) return import(compiled.href);
  process.stderr.write(
    "wasmgrad: cannot start: neither tsx (to run src/ directly: npm install) nor a compiled dist/ (npm run build) was found\n",
  );
  process.exit(1);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
