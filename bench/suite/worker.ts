// A JS contender process: `worker <contender> <threads>`, answering contender.ts's requests; run.ts
// runs it as an esbuild bundle under plain node, so that its peak RSS is the library's, not tsx's.

import { createInterface } from "node:readline";
import type { Contender } from "./contender.ts";

const [name = "", threads = "1"] = process.argv.slice(2);

async function create(): Promise<Contender> {
  if (name.startsWith("wasmgrad-")) return (await import("./wasmgrad.ts")).WasmgradContender.create(name === "wasmgrad-wasm" ? "wasm" : "js", Number(threads));
  if (name.startsWith("tfjs-")) return (await import("./tfjs.ts")).createTfjsContender(name === "tfjs-wasm" ? "wasm" : "cpu");
  throw new Error(`worker: unknown contender ${JSON.stringify(name)}`);
}

type Req = Record<string, never> & { id: number; cmd: string };
const handlers: Record<string, (c: Contender, r: Req) => object | Promise<object>> = {
  info: (c) => c.info(),
  gemm_setup: (c, r) => ({ once: c.gemmSetup(r.m, r.k, r.n, r.layout, r.warmupMs) }),
  gemm_sample: (c, r) => ({ seconds: c.gemmSample(r.reps, r.variant ?? "kernel") }),
  gemm_free: (c) => (c.gemmFree(), {}),
  train_setup: async (c, r) => {
    const t0 = performance.now();
    return { ...(await c.trainSetup(r.dir, r.seed)), loadSeconds: (performance.now() - t0) / 1000 };
  },
  train_epoch: (c, r) => c.trainEpoch(r.maxBatches),
  eval: (c, r) => c.evaluate(r.maxBatches),
  stats: (c) => c.stats(),
};

// Anything a library prints with console.log would corrupt the protocol: it goes to stderr.
const write = (reply: object) => process.stdout.write(`${JSON.stringify(reply)}\n`);
console.log = console.info = (...args: unknown[]) => console.error(...args);
// tfjs's advice to install tfjs-node (a binary download: not an option here) is noise in a benchmark.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => void (args.some((a) => String(a).includes("tfjs-node")) || warn(...args));
const contender = create();
contender.catch(() => undefined);
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const req = JSON.parse(line) as Req;
  if (req.cmd === "exit") break;
  try {
    write({ id: req.id, ok: true, ...(await handlers[req.cmd]!(await contender, req)) });
  } catch (e) {
    write({ id: req.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}
process.exit(0);
