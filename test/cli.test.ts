// The wasmgrad command line: argument parsing (in process), then the bin run as
// a child process (`node bin/wasmgrad.mjs …`): help, bad arguments → exit 2,
// --json lines, short runs of each command, --plot SVGs and Ctrl-C.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseCommandLine, UsageError, type DropoutArgs, type WeightDecayArgs } from "../src/cli/args.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "wasmgrad.mjs");
const SUBSET = join(ROOT, "data", "fashion-mnist-subset");
const tmp = mkdtempSync(join(tmpdir(), "wasmgrad-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bin. `interruptWhen` sends SIGINT once stdout holds a line it accepts
 * (a pipe, not a TTY: no progress bar and no colour, as in CI).
 */
function wasmgrad(args: string[], opts: { interruptWhen?: (line: string) => boolean; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, FASHION_MNIST_DIR: SUBSET, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (!sent && opts.interruptWhen && stdout.split("\n").slice(0, -1).some(opts.interruptWhen)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

const jsonLines = (stdout: string) =>
  stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, any>);

function parseFails(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`parseCommandLine(${JSON.stringify(argv)}) did not throw`);
}

/** Well-formed XML, as far as a stack of tags can tell (no DOM parser in Node). */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const body = svg.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "").replace(/<!--[\s\S]*?-->/g, "");
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop(), `</${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  // Every "<" starts a tag the pattern above understood.
  expect(body.match(/</g)?.length).toBe([...body.matchAll(/<\/?[A-Za-z][\w:.-]*(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g)].length);
}

/** The header of a safetensors file: an 8-byte little-endian length, then JSON. */
function safetensorsHeader(path: string): Record<string, any> {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  // The data section holds exactly the tensors the header lists.
  const end = Math.max(...Object.entries(header).filter(([k]) => k !== "__metadata__").map(([, v]: [string, any]) => v.data_offsets[1]));
  expect(bytes.length).toBe(8 + n + end);
  return header;
}

/** The line series of a Vega SVG: one aria-label per path ("epochs: 1; loss: …; split: train"). */
function lineSeries(svg: string): { label: string; points: number }[] {
  return [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)"/g)].map((m) => ({
    label: m[1],
    points: (m[2].match(/[ML]/g) ?? []).length,
  }));
}

describe("argument parsing", () => {
  it("gives the book's defaults", () => {
    const wd = parseCommandLine(["weight-decay"]) as WeightDecayArgs;
    expect(wd).toMatchObject({ command: "weight-decay", lambd: [0, 3], penalty: "l2", via: "loss", epochs: 100, lr: 0.003, batchSize: 1, seed: 0, backend: "wasm", json: false, quiet: false });
    const d = parseCommandLine(["dropout"]) as DropoutArgs;
    expect(d).toMatchObject({ command: "dropout", dropout: [0.2, 0.5], hidden: [256, 256], optimizer: "sgd", momentum: 0, l1: 0, batchSize: 256, epochs: 5 });
    expect(d.lr).toBeUndefined();
    expect(d.weightDecay).toBeUndefined();
    expect(parseCommandLine([])).toMatchObject({ command: "demo", epochs: 5 });
    expect(parseCommandLine(["--json"])).toMatchObject({ command: "demo", json: true });
  });

  it("reads lists, choices and numbers", () => {
    expect(parseCommandLine(["weight-decay", "--lambd", "0,0.1, 3", "--penalty", "l1", "--via", "optimizer", "--epochs", "7", "--lr", "1e-3"]))
      .toMatchObject({ lambd: [0, 0.1, 3], penalty: "l1", via: "optimizer", epochs: 7, lr: 0.001 });
    expect(parseCommandLine(["weight-decay", "--lambd", "0", "--lambd=3"])).toMatchObject({ lambd: [0, 3] });
    expect(parseCommandLine(["dropout", "--dropout", "0.3"])).toMatchObject({ dropout: [0.3, 0.3] });
    expect(parseCommandLine(["dropout", "--dropout", "0,0", "--hidden", "128,64", "--optimizer", "adamw", "--weight-decay", "1e-4", "--batch-size", "64", "--threads", "4", "--backend", "js", "--seed", "42", "-q", "--json"]))
      .toMatchObject({ dropout: [0, 0], hidden: [128, 64], optimizer: "adamw", weightDecay: 1e-4, batchSize: 64, threads: 4, backend: "js", seed: 42, quiet: true, json: true });
    expect(parseCommandLine(["dropout", "--momentum", "0.9", "--l1", "1e-5", "--lr", "0.1", "--data", SUBSET]))
      .toMatchObject({ momentum: 0.9, l1: 1e-5, lr: 0.1, data: SUBSET });
    expect(parseCommandLine(["dropout", "--plot", join(tmp, "a.svg")])).toMatchObject({ plot: join(tmp, "a.svg") });
  });

  it("routes help and version", () => {
    expect(parseCommandLine(["--help"])).toEqual({ command: "help", topic: undefined });
    expect(parseCommandLine(["dropout", "-h"])).toEqual({ command: "help", topic: "dropout" });
    expect(parseCommandLine(["weight-decay", "--lambd", "oops", "--help"])).toEqual({ command: "help", topic: "weight-decay" });
    expect(parseCommandLine(["help", "demo"])).toEqual({ command: "help", topic: "demo" });
    expect(parseCommandLine(["--version"])).toEqual({ command: "version" });
  });

  it.each([
    [["frobnicate"], /unknown command "frobnicate"/],
    [["weight-decay", "--frobnicate"], /unknown option --frobnicate/],
    [["weight-decay", "extra"], /unexpected argument "extra"/],
    [["weight-decay", "--lambd"], /--lambd needs a value/],
    [["weight-decay", "--lambd", "abc"], /--lambd must be a comma-separated list of numbers ≥ 0, got "abc"/],
    [["weight-decay", "--lambd=-1"], /--lambd must be .* ≥ 0, got "-1"/],
    [["weight-decay", "--lambd", "3,3"], /lists a value twice/],
    [["weight-decay", "--lambd", "1,"], /--lambd must be/],
    [["weight-decay", "--penalty", "l3"], /--penalty must be l2 or l1, got "l3"/],
    [["weight-decay", "--via", "magic"], /--via must be loss or optimizer/],
    [["weight-decay", "--epochs", "0"], /--epochs must be a positive integer, got "0"/],
    [["weight-decay", "--epochs", "2.5"], /--epochs must be a positive integer/],
    [["weight-decay", "--lr", "0x10"], /--lr must be a number > 0, got "0x10"/],
    [["weight-decay", "--lr", "0"], /--lr must be a number > 0/],
    [["dropout", "--dropout", "1.5"], /--dropout must be one or two probabilities in \[0, 1\], got "1.5"/],
    [["dropout", "--dropout", "0.1,0.2,0.3"], /--dropout takes one or two probabilities/],
    [["dropout", "--hidden", "256"], /--hidden takes two layer sizes/],
    [["dropout", "--hidden", "256,0"], /--hidden must be two layer sizes/],
    [["dropout", "--optimizer", "rmsprop"], /--optimizer must be sgd or adam or adamw/],
    [["dropout", "--optimizer", "adam", "--momentum", "0.9"], /--momentum is an SGD option/],
    [["dropout", "--optimizer", "adamw", "--l1", "0.1"], /--l1 is an SGD option/],
    [["dropout", "--momentum", "1"], /--momentum must be a number in \[0, 1\)/],
    [["dropout", "--weight-decay", "-1"], /--weight-decay needs a value/],
    [["dropout", "--threads", "0"], /--threads must be a positive integer, got "0"/],
    [["dropout", "--threads", "two"], /--threads must be a positive integer/],
    [["dropout", "--backend", "webgpu"], /--backend must be wasm or js, got "webgpu"/],
    [["dropout", "--data", "/no/such/dir"], /--data \/no\/such\/dir: no such directory/],
    [["dropout", "--plot", "out.png"], /--plot writes SVG: give a file name ending in \.svg/],
    [["dropout", "--plot", "/no/such/dir/out.svg"], /no such directory/],
    [["dropout", "--seed", "-3"], /--seed needs a value/],
    [["dropout", "--seed=1.5"], /--seed must be a non-negative integer/],
    [["dropout", "--json=yes"], /--json takes no value/],
    [["dropout", "--save", "model.pt"], /--save writes SAFETENSORS: give a file name ending in \.safetensors/],
    [["dropout", "--save", "/no/such/dir/m.safetensors"], /no such directory/],
    [["demo", "--lambd", "3"], /unknown option --lambd/],
  ])("rejects %j", (argv, message) => {
    expect(parseFails(argv as string[])).toMatch(message);
  });
});

describe("the wasmgrad bin", () => {
  it("prints help for the tool and each command, exit 0", async () => {
    const main = await wasmgrad(["--help"]);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Usage: wasmgrad \[command\] \[options\]/);
    for (const c of ["weight-decay", "dropout", "demo"]) expect(main.stdout).toContain(c);
    const wd = await wasmgrad(["weight-decay", "--help"]);
    expect(wd.code).toBe(0);
    for (const o of ["--lambd", "--penalty", "--via", "--epochs", "--lr", "--json", "--plot"]) expect(wd.stdout).toContain(o);
    const d = await wasmgrad(["help", "dropout"]);
    expect(d.code).toBe(0);
    for (const o of ["--dropout", "--hidden", "--weight-decay", "--l1", "--optimizer", "--momentum", "--threads", "--backend", "--data", "--save", "--batch-size"]) {
      expect(d.stdout).toContain(o);
    }
    expect(d.stdout).not.toContain("--limit-batches");
  });

  it("exits 2 with the message on stderr for bad arguments, before any work", async () => {
    for (const [args, message] of [
      [["weight-decay", "--penalty", "l3"], 'wasmgrad weight-decay: --penalty must be l2 or l1, got "l3"'],
      [["dropout", "--dropout", "1.5"], 'wasmgrad dropout: --dropout must be one or two probabilities in [0, 1], got "1.5"'],
      [["frobnicate"], 'wasmgrad: unknown command "frobnicate"'],
      [["dropout", "--save", join(tmp, "m.pt")], "wasmgrad dropout: --save writes SAFETENSORS"],
    ] as const) {
      const r = await wasmgrad([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/Run "wasmgrad[\w -]*--help" for the options/);
    }
    expect(existsSync(join(tmp, "m.pt"))).toBe(false);
  });

  it("weight-decay --json: a line per epoch per λ, then a summary", async () => {
    const r = await wasmgrad(["weight-decay", "--lambd", "0,3", "--epochs", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(5);
    const epochs = lines.slice(0, 4);
    expect(epochs.map((l) => [l.type, l.experiment, l.lambd, l.epoch])).toEqual([
      ["epoch", "weight-decay", 0, 1], ["epoch", "weight-decay", 0, 2], ["epoch", "weight-decay", 3, 1], ["epoch", "weight-decay", 3, 2],
    ]);
    for (const l of epochs) {
      expect(l).toMatchObject({ penalty: "l2", via: "loss" });
      expect(l.trainLoss).toBeGreaterThan(0);
      expect(l.testLoss).toBeGreaterThan(0);
    }
    const summary = lines[4];
    expect(summary).toMatchObject({ type: "summary", command: "weight-decay", stopped: false, plot: null });
    expect(summary.settings).toMatchObject({ lambd: [0, 3], epochs: 2, lr: 0.003, seed: 0, backend: "wasm" });
    expect(summary.results.map((x: any) => [x.lambd, x.epochs])).toEqual([[0, 2], [3, 2]]);
    for (const x of summary.results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(["trainLoss", "testLoss", "wNorm", "sparsity", "seconds", "reference"]));
      expect(x.reference).toBeNull(); // 2 epochs are not the book's 100
    }
    // The last epoch line and the summary agree.
    expect(summary.results[1].testLoss).toBe(epochs[3].testLoss);
    // λ = 3 shrinks w.
    expect(summary.results[1].wNorm).toBeLessThan(summary.results[0].wNorm);
  });

  it("weight-decay with the book's settings: each figure next to PyTorch's 20-seed mean ± sd and its z, and the semilog figure", async () => {
    const svg = join(tmp, "weight-decay.svg");
    const r = await wasmgrad(["weight-decay", "--lambd", "0,3", "--plot", svg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Per epoch");
    expect(r.stdout).toMatch(/Final train\/test loss and ‖w‖/);
    expect(r.stdout).toContain("PyTorch 1.13, 20 seeds with the book's settings");
    const rows = r.stdout.split("\n").filter((l) => /^[03]\s+100\s/.test(l) && l.includes("±"));
    expect(rows).toHaveLength(2);
    // λ = 0 fits the training points to float precision, as PyTorch does: agreement, whatever the rounding.
    expect(rows[0]).toMatch(/e-1\d ✓ +\S+ ± \S+ \(both at float precision\)/);
    for (const row of rows) expect(row.match(/\(z [+−]?\d+\.\d\)/g)?.length, row).toBeGreaterThanOrEqual(2);
    // Seed 0 lies inside PyTorch's distribution everywhere: no ✗ (the legend above the table names both marks).
    for (const row of rows) expect(row).not.toContain("✗");
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colour off a terminal
    expect(r.stdout).toContain(`Plot: ${svg}`);
    const text = readFileSync(svg, "utf8");
    expect(text.startsWith("<svg")).toBe(true);
    expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
    checkWellFormed(text);
    for (const label of ["λ = 0", "λ = 3", "train", "test", "epochs", "loss"]) expect(text).toContain(`>${label}</text>`);
    const series = lineSeries(text);
    expect(series).toHaveLength(4);
    expect(series.map((s) => s.label.match(/split: (\w+)/)?.[1]).sort()).toEqual(["test", "test", "train", "train"]);
    for (const s of series) expect(s.points).toBe(100);
  });

  it("dropout without --threads runs on the logical CPUs (at most 8) and trains bitwise as on --threads 1", async () => {
    const args = ["dropout", "--epochs", "1", "--limit-batches", "2", "--data", SUBSET, "--json"];
    const [byDefault, one] = await Promise.all([wasmgrad(args), wasmgrad([...args, "--threads", "1"])]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(one.code, one.stderr).toBe(0);
    const a = jsonLines(byDefault.stdout).at(-1)!;
    const b = jsonLines(one.stdout).at(-1)!;
    expect(a.threads).toBe(Math.min(8, availableParallelism()));
    expect(b.threads).toBe(1);
    const figures = (h: Record<string, number>[]) => h.map(({ trainLoss, trainAcc, testAcc }) => ({ trainLoss, trainAcc, testAcc }));
    expect(figures(a.history)).toEqual(figures(b.history));
  });

  it("dropout --json on the bundled subset: epoch lines and a summary", async () => {
    const model = join(tmp, "model.safetensors");
    const r = await wasmgrad(["dropout", "--epochs", "2", "--limit-batches", "3", "--data", SUBSET, "--threads", "2", "--json", "--save", model]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/--threads/);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.type)).toEqual(["epoch", "epoch", "summary"]);
    for (const [i, l] of lines.slice(0, 2).entries()) {
      expect(l).toMatchObject({ experiment: "dropout", epoch: i + 1, batches: 3, batchesPerEpoch: 3, complete: true });
      for (const k of ["trainLoss", "trainAcc", "testAcc", "seconds", "imagesPerSecond"]) expect(typeof l[k]).toBe("number");
      expect(l.testAcc).toBeGreaterThanOrEqual(0);
      expect(l.testAcc).toBeLessThanOrEqual(1);
    }
    const s = lines[2];
    expect(s).toMatchObject({
      command: "dropout", stopped: false, threads: 2, saved: model, plot: null,
      data: { trainSize: 6000, testSize: 1000 },
      settings: { dropout: [0.2, 0.5], hidden: [256, 256], optimizer: "sgd", lr: 0.5, momentum: 0, weightDecay: 0, l1: 0, batchSize: 256, epochs: 2, seed: 0, backend: "wasm" },
    });
    expect(s.history).toHaveLength(2);
    expect(s.final).toEqual(s.history[1]);
    // Book settings, but the subset: the reference is known and marked as not comparable.
    expect(s.reference).toMatchObject({ key: "dropout", comparable: false });
    // PyTorch's nn.Sequential names: Flatten 0, Linear 1, ReLU 2, Dropout 3, Linear 4, …, Linear 7.
    const header = safetensorsHeader(model);
    expect(Object.keys(header).filter((k) => k !== "__metadata__")).toEqual(["1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"]);
    expect(header["1.weight"]).toMatchObject({ dtype: "F32", shape: [256, 784] });
    expect(header.__metadata__).toMatchObject({ format: "pt", epochs: "2", stopped: "false", test_acc: String(s.final.testAcc) });
  });

  it("lenet: JSON lines per epoch, a summary with PyTorch's LeNet reference, the figure and the saved CNN", async () => {
    const svg = join(tmp, "lenet.svg");
    const model = join(tmp, "lenet.safetensors");
    const r = await wasmgrad(["lenet", "--epochs", "2", "--limit-batches", "2", "--data", SUBSET, "--json", "--plot", svg, "--save", model]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === "epoch").map((l) => [l.experiment, l.epoch, l.batches])).toEqual([["lenet", 1, 2], ["lenet", 2, 2]]);
    const s = lines.at(-1);
    expect(s).toMatchObject({ type: "summary", command: "lenet", settings: { lr: 0.9, batchSize: 256, epochs: 2 }, reference: { key: "lenet", seeds: 3, comparable: false } });
    expect(s.final.trainLoss).toBeGreaterThan(0);
    checkWellFormed(readFileSync(svg, "utf8"));
    const bytes = readFileSync(model);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8"));
    expect(header["0.weight"]).toMatchObject({ dtype: "F32", shape: [6, 1, 5, 5] });
    expect(header["3.weight"]).toMatchObject({ dtype: "F32", shape: [16, 6, 5, 5] });
  });

  it("dropout text output with another optimizer and the loss/accuracy figure", async () => {
    const svg = join(tmp, "dropout.svg");
    const r = await wasmgrad(["dropout", "--epochs", "2", "--limit-batches", "2", "--data", SUBSET, "--optimizer", "adam", "--hidden", "64,32", "--backend", "js", "--plot", svg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("784-64-32-10, dropout 0.2/0.5, Adam lr 0.001");
    expect(r.stdout).toContain("js backend");
    expect(r.stdout).toMatch(/epoch\s+train loss\s+train acc\s+test acc\s+seconds\s+images\/s/);
    expect(r.stdout).toMatch(/^\s+1\s+\d\.\d{3}\s+0\.\d{3}\s+0\.\d{3}/m);
    expect(r.stdout).toMatch(/^\s+2\s+\d\.\d{3}/m);
    expect(r.stdout).not.toContain("PyTorch"); // not the book's settings
    const text = readFileSync(svg, "utf8");
    checkWellFormed(text);
    for (const label of ["train loss", "train acc", "test acc", "epoch"]) expect(text).toContain(`>${label}</text>`);
    const series = lineSeries(text);
    expect(series.map((s) => s.label.match(/series: ([\w ]+)/)?.[1]).sort()).toEqual(["test acc", "train acc", "train loss"]);
    for (const s of series) expect(s.points).toBe(2);
  });

  it("demo: both chapters, JSON lines for both and one summary", async () => {
    const svg = join(tmp, "demo.svg");
    const r = await wasmgrad(["--json", "--quiet", "--wd-epochs", "2", "--epochs", "1", "--limit-batches", "2", "--data", SUBSET, "--plot", svg]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    const wd = lines.filter((l) => l.experiment === "weight-decay");
    expect(wd).toHaveLength(6 * 2);
    expect(new Set(wd.map((l) => l.label)).size).toBe(6);
    expect(lines.filter((l) => l.experiment === "dropout")).toHaveLength(1);
    const s = lines.at(-1)!;
    expect(s).toMatchObject({ type: "summary", command: "demo", stopped: false, plot: svg });
    expect(s.weightDecay.results).toHaveLength(6);
    expect(s.dropoutFromScratch.map((x: any) => x.p)).toEqual([0, 0.5, 1]);
    expect(s.dropout.history).toHaveLength(1);
    const text = readFileSync(svg, "utf8");
    checkWellFormed(text);
    expect(lineSeries(text)).toHaveLength(6 * 2 + 3);
  });

  it("Ctrl-C in dropout stops after the batch and still prints, plots and summarises", async () => {
    const svg = join(tmp, "interrupted.svg");
    const model = join(tmp, "interrupted.safetensors");
    const r = await wasmgrad(
      ["dropout", "--epochs", "1000", "--batch-size", "32", "--hidden", "32,16", "--data", SUBSET, "--json", "--plot", svg, "--save", model],
      { interruptWhen: (line) => line.includes('"type":"epoch"') },
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain("stopping after the current batch");
    const lines = jsonLines(r.stdout);
    const s = lines.at(-1)!;
    expect(s).toMatchObject({ type: "summary", command: "dropout", stopped: true, plot: svg, saved: model });
    expect(s.history.length).toBeGreaterThanOrEqual(1);
    expect(s.history.length).toBeLessThan(1000);
    // The epoch that was cut short is kept, with the batches it had.
    const last = s.history.at(-1);
    expect(last.batches).toBeGreaterThanOrEqual(1);
    expect(lineSeries(readFileSync(svg, "utf8")).length).toBe(3);
    const header = safetensorsHeader(model);
    expect(header.__metadata__).toMatchObject({ format: "pt", stopped: "true", epochs: String(s.history.length) });
    expect(header["1.weight"]).toMatchObject({ dtype: "F32", shape: [32, 784] });
    expect(header["4.weight"]).toMatchObject({ dtype: "F32", shape: [16, 32] });
    expect(header["7.bias"]).toMatchObject({ dtype: "F32", shape: [10] });
  });

  it("Ctrl-C in weight-decay keeps the epochs done and skips the λ not started", async () => {
    const r = await wasmgrad(["weight-decay", "--lambd", "0,1,3", "--epochs", "100000", "--json"], {
      interruptWhen: (line) => line.includes('"epoch":3,'),
    });
    expect(r.code, r.stderr).toBe(130);
    const s = jsonLines(r.stdout).at(-1)!;
    expect(s).toMatchObject({ type: "summary", stopped: true });
    expect(s.results).toHaveLength(1);
    expect(s.results[0].epochs).toBeGreaterThanOrEqual(3);
    expect(s.results[0].epochs).toBeLessThan(100000);
    expect(s.results[0].epochsPlanned).toBe(100000);
  });

  it("runs from another working directory", async () => {
    const child = await new Promise<Run>((done) => {
      const p = spawn(process.execPath, [BIN, "weight-decay", "--lambd", "1", "--epochs", "1", "--json"], { cwd: tmp, env: { ...process.env, NO_COLOR: "1" } });
      let stdout = "";
      let stderr = "";
      p.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
      p.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      p.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
    });
    expect(child.code, child.stderr).toBe(0);
    expect(jsonLines(child.stdout).at(-1)).toMatchObject({ type: "summary", command: "weight-decay" });
    expect(resolve(ROOT)).not.toBe(resolve(tmp));
  });
});
