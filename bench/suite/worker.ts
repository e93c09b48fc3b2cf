// A JS contender process of the suite: `worker <contender> <threads>`
// (wasmgrad-wasm, wasmgrad-js, tfjs-wasm, tfjs-cpu), answering protocol.ts's
// requests on stdin/stdout. run.ts runs it as an esbuild bundle under plain
// node, so that its peak RSS is the library's, not tsx's loader's.

import { createInterface } from "node:readline";
import type { Contender } from "./contender.ts";
import type { Request } from "./protocol.ts";

const [name = "", threadsArg = "1"] = process.argv.slice(2);
const threads = Number(threadsArg);

async function create(): Promise<Contender> {
  switch (name) {
    case "wasmgrad-wasm":
    case "wasmgrad-js": {
      const { WasmgradContender } = await import("./wasmgrad.ts");
      return WasmgradContender.create(name === "wasmgrad-wasm" ? "wasm" : "js", threads);
    }
    case "tfjs-wasm":
    case "tfjs-cpu": {
      const { createTfjsContender } = await import("./tfjs.ts");
      return createTfjsContender(name === "tfjs-wasm" ? "wasm" : "cpu");
    }
    default:
      throw new Error(`worker: unknown contender ${JSON.stringify(name)}`);
  }
}

async function handle(c: Contender, req: Request): Promise<object> {
  switch (req.cmd) {
    case "info": return c.info();
    case "gemm_setup": return { once: c.gemmSetup(req.m, req.k, req.n, req.layout, req.warmupMs) };
    case "gemm_sample": return { seconds: c.gemmSample(req.reps, req.variant ?? "kernel") };
    case "gemm_free": c.gemmFree(); return {};
    case "train_setup": {
      const t0 = performance.now();
      const r = await c.trainSetup(req.dir, req.seed);
      return { ...r, loadSeconds: (performance.now() - t0) / 1000 };
    }
    case "train_epoch": return c.trainEpoch(req.maxBatches);
    case "eval": return c.evaluate(req.maxBatches);
    case "stats": return c.stats();
    default: throw new Error(`unsupported command ${JSON.stringify((req as { cmd: string }).cmd)}`);
  }
}

async function main(): Promise<void> {
  // Anything a library prints with console.log would corrupt the protocol: send it to stderr.
  const write = (line: string) => process.stdout.write(`${line}\n`);
  console.log = (...args: unknown[]) => console.error(...args);
  console.info = console.log;
  // tfjs's advice to install tfjs-node (which downloads a binary: not an option here) is noise in a benchmark.
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (args.some((a) => typeof a === "string" && a.includes("tfjs-node"))) return;
    warn(...args);
  };
  let contender: Contender | null = null;
  let startError: unknown = null;
  try {
    contender = await create();
  } catch (e) {
    startError = e;
  }
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as Request;
    if (req.cmd === "exit") {
      write(JSON.stringify({ id: req.id, ok: true }));
      break;
    }
    try {
      if (!contender) throw startError;
      const reply = await handle(contender, req);
      write(JSON.stringify({ id: req.id, ok: true, ...reply }));
    } catch (e) {
      write(JSON.stringify({ id: req.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
    }
  }
  rl.close();
  process.exit(0);
}

void main();
