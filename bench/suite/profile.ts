// Where one wasmgrad training epoch (the d2l dropout MLP, Wasm backend) spends
// its time, two ways:
//
//   npx tsx bench/suite/profile.ts [--batches N] [--backend wasm|js]
//       every kernel call timed and summed by family, the loop's phases timed,
//       GC pauses counted (the same table the suite puts in RESULTS.md);
//   npx tsx bench/suite/profile.ts --cpu-prof [--batches N]
//       the same epoch under V8's sampling profiler (node --cpu-prof, under tsx
//       so that frames keep their source files), summarised by self time:
//       Wasm functions, GC, and the TypeScript layer file by file.
//
// Both train one warm-up epoch's worth of batches first (V8 tiers up), then profile.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { WasmgradContender } from "./wasmgrad.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../..");
const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const batches = Number(arg("--batches", "0"));
const backend = arg("--backend", "wasm") as "wasm" | "js";
const dataDir = process.env.FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Function index → export name, from the module's export section (the module has no name section). */
function wasmExportNames(): Map<number, string> {
  const names = new Map<number, string>();
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(ROOT, "build/wasmgrad.wasm"));
  } catch {
    return names;
  }
  let pos = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return result;
    }
  };
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = leb();
    const end = pos + size;
    if (id === 7) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const len = leb();
        const name = new TextDecoder().decode(bytes.subarray(pos, pos + len));
        pos += len;
        const kind = bytes[pos++]!;
        const index = leb();
        if (kind === 0) names.set(index, name);
      }
    }
    pos = end;
  }
  return names;
}

/** Self time by category and by function, from the samples (µs deltas). */
function summarise(profile: CpuProfile, windowStartUs: number, windowEndUs: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const exportsByIndex = wasmExportNames();
  const isWasm = (n: CpuProfileNode) => n.callFrame.url.startsWith("wasm://") || n.callFrame.functionName.startsWith("wasm-function");
  const wasmIndex = (n: CpuProfileNode) => Number(/wasm-function\[(\d+)\]/.exec(n.callFrame.functionName)?.[1] ?? -1);
  /** A Wasm frame's name: its export, or "internal #i (in export)" for the export that was called from JS. */
  const wasmName = (n: CpuProfileNode): string => {
    const own = exportsByIndex.get(wasmIndex(n));
    if (own) return own;
    let entry = n;
    for (let p = parent.get(n.id); p !== undefined; p = parent.get(p)) {
      const pn = byId.get(p)!;
      if (!isWasm(pn)) break;
      entry = pn;
    }
    return `internal #${wasmIndex(n)} (under ${exportsByIndex.get(wasmIndex(entry)) ?? "?"})`;
  };
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < windowStartUs || t > windowEndUs) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt);
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName: fn, url, lineNumber } = n.callFrame;
    let cat: string;
    if (isWasm(n)) cat = "Wasm kernels";
    else if (fn === "(garbage collector)") cat = "GC";
    else if (fn === "(idle)" || fn === "(program)") cat = `V8 ${fn}`;
    else if (url.includes("/src/")) cat = `TS: ${relative(ROOT, fileURLToPath(url.startsWith("file:") ? url : `file://${url}`))}`;
    else if (url.includes("/bench/")) cat = "bench harness";
    else if (url.startsWith("node:") || url === "") cat = "node internals / builtins";
    else cat = "other JS";
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const where = url.startsWith("wasm://") ? "" : url ? `${url.startsWith("file:") ? relative(ROOT, fileURLToPath(url)) : url}:${lineNumber + 1}` : "";
    const key = isWasm(n) ? `Wasm ${wasmName(n)}` : `${fn || "(anonymous)"} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + us);
    total += us;
  }
  const rows = (m: Map<string, number>, limit: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit)
      .map(([k, us]) => `| ${k} | ${(us / 1e6).toFixed(3)} | ${((100 * us) / total).toFixed(1)}% |`).join("\n");
  return [
    `Sampled self time over the profiled epoch: ${(total / 1e6).toFixed(2)} s`,
    "",
    "| category | seconds | share |", "|---|---:|---:|", rows(categories, 30),
    "",
    "| function (self time) | seconds | share |", "|---|---:|---:|", rows(functions, 30),
  ].join("\n");
}

async function profileInProcess(): Promise<void> {
  const c = await WasmgradContender.create(backend, 1);
  await c.trainSetup(dataDir, 0);
  c.trainEpoch(batches > 0 ? Math.min(batches, 60) : 60); // warm-up
  c.evaluate(5);
  if (args.includes("--child")) {
    // Under --cpu-prof: a plain epoch (no timing wrappers) as the last thing the process does,
    // so the summary takes the profile's last `seconds` as the epoch.
    const r = c.trainEpoch(batches);
    process.stdout.write(`${JSON.stringify({ seconds: r.seconds, batches: r.batches })}\n`);
    return;
  }
  const p = await c.profileEpoch!(batches);
  console.log(`wasmgrad-${backend}: ${p.batches} batches in ${p.seconds.toFixed(3)} s with every kernel call timed`);
  console.log("");
  console.log("| part | seconds | share | calls |");
  console.log("|---|---:|---:|---:|");
  for (const [name, v] of Object.entries(p.families).sort((a, b) => b[1].seconds - a[1].seconds)) {
    console.log(`| ${name} | ${v.seconds.toFixed(3)} | ${((100 * v.seconds) / p.seconds).toFixed(1)}% | ${v.calls || ""} |`);
  }
}

async function main(): Promise<void> {
  if (!args.includes("--cpu-prof")) return profileInProcess();
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-cpuprof-"));
  const r = spawnSync(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval", "200", "--import", "tsx", fileURLToPath(import.meta.url), "--child", "--batches", String(batches), "--backend", backend],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`profiled child failed (${r.status})`);
  const window = JSON.parse(r.stdout.trim().split("\n").pop()!) as { seconds: number; batches: number };
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  console.log(`wasmgrad-${backend}: ${window.batches} batches in ${window.seconds.toFixed(3)} s under --cpu-prof (profile: ${join(dir, file)})`);
  console.log("");
  // The profile's clock is V8's monotonic µs; take the epoch as the last `seconds` of samples before the end marker.
  const end = profile.endTime;
  console.log(summarise(profile, end - window.seconds * 1e6 - 20_000, end));
}

void main();
