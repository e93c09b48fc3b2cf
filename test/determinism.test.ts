// Determinism: a seed fixes a training run. The same seed gives bitwise the
// same parameters run after run, in this process and in fresh ones; the JS and
// Wasm backends draw bitwise the same random numbers (init, dropout masks,
// shuffles) and agree on the arithmetic to float tolerance.

import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import * as wasmgrad from "../src/index.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));
const entry = pathToFileURL(fileURLToPath(new URL("../src/index.ts", import.meta.url))).href;

/**
 * A small MLP with dropout, trained by SGD with momentum and weight decay over a
 * shuffled DataLoader, from `seed`; returns its parameters. Self-contained (it
 * only uses `lib`), because the child processes below run its source text.
 */
function train(lib: typeof wasmgrad, seed: number, steps: number): Float32Array[] {
  const { data, manualSeed, nn, optim, randn, tensor } = lib;
  manualSeed(seed);
  const X = randn([256, 20]);
  const y = tensor(Int32Array.from({ length: 256 }, (_, i) => (i * 7) % 4), { dtype: "int32" });
  const net = new nn.Sequential(
    new nn.Linear(20, 32), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(32, 32), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(32, 4),
  );
  const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
  const lossFn = new nn.CrossEntropyLoss();
  const loader = new data.DataLoader(new data.TensorDataset(X, y), { batchSize: 32, shuffle: true });
  let step = 0;
  while (step < steps) {
    for (const [xb, yb] of loader) {
      const loss = lossFn.forward(net.forward(xb), yb);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      if (++step === steps) break;
    }
  }
  return net.parameters().map((p) => p.data() as Float32Array);
}

const STEPS = 40;

/** The parameters' bytes, for comparing bit for bit (NaN payloads and -0 included). */
function bytesOf(params: Float32Array[]): string[] {
  return params.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("base64"));
}

/** train(seed, steps) in a fresh Node process; resolves to its parameters' bytes. */
function trainInChild(seed: number, steps: number): Promise<string[]> {
  const program = `
    const lib = await import(${JSON.stringify(entry)});
    const train = ${train.toString()};
    const params = train(lib, ${seed}, ${steps});
    process.stdout.write(JSON.stringify(params.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("base64"))));
  `;
  return new Promise((resolve, reject) => {
    // The parent's Wasm feature flags (e.g. --experimental-wasm-relaxed-simd), so that both pick the same build.
    const wasmFlags = process.execArgv.filter((a) => a.startsWith("--experimental-wasm-"));
    const child = spawn(process.execPath, [...wasmFlags, "--import", "tsx", "--input-type=module", "-e", program], { cwd: repo });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`child exited with ${code}: ${err}`))));
  });
}

afterEach(() => wasmgrad.setBackend("wasm"));

describe("determinism", () => {
  it("gives bitwise-identical parameters for the same seed, run twice in one process", () => {
    const first = bytesOf(train(wasmgrad, 5, STEPS));
    const second = bytesOf(train(wasmgrad, 5, STEPS));
    expect(second).toEqual(first);
  });

  it("gives other parameters for another seed (so the comparisons above can fail)", () => {
    expect(bytesOf(train(wasmgrad, 6, STEPS))).not.toEqual(bytesOf(train(wasmgrad, 5, STEPS)));
  });

  it("gives bitwise-identical parameters in two fresh processes, equal to this process's", async () => {
    const [a, b] = await Promise.all([trainInChild(5, STEPS), trainInChild(5, STEPS)]);
    expect(a).toEqual(b);
    expect(a).toEqual(bytesOf(train(wasmgrad, 5, STEPS)));
  }, 30_000);

  it("trains to the same parameters on the js and wasm backends, to 1e-5 relative", () => {
    const onWasm = train(wasmgrad, 5, 8);
    wasmgrad.setBackend("js");
    const onJs = train(wasmgrad, 5, 8);
    onWasm.forEach((w, i) => {
      const scale = Math.max(...Array.from(w, Math.abs));
      for (let j = 0; j < w.length; j++) {
        const diff = Math.abs(onJs[i][j] - w[j]);
        if (diff > 1e-5 * scale) expect.fail(`parameter ${i}[${j}]: wasm ${w[j]}, js ${onJs[i][j]} (|Δ| ${diff} > 1e-5 · ${scale})`);
      }
    });
  });

  it("draws the same initial parameters on both backends, bit for bit", () => {
    const onWasm = bytesOf(train(wasmgrad, 5, 0));
    wasmgrad.setBackend("js");
    expect(bytesOf(train(wasmgrad, 5, 0))).toEqual(onWasm);
  });
});
