// Soak of every loop shape (bench/loop-shapes.ts): does each natural loop hold
// its memory flat with no dispose(), keep(), gc() or await?
//
//   npm run bench:soak                       (builds the module first)
//   npx tsx bench/soak-shapes.ts [--steps 20000] [--every 2000] [--backend wasm|js]
//
// Each shape runs in a process of its own, so its figures are its own. Prints
// liveTensors and highWater every `--every` iterations, one table row per
// shape, then a verdict: flat (no figure moved after the first row, the
// warm-up) or which shape grew. Exit code 1 when one grew.

import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { LOOP_SHAPES } from "./loop-shapes.ts";
import { memoryStats, setBackend, type BackendName } from "../src/index.ts";

interface Mark {
  iteration: number;
  liveTensors: number;
  highWater: number;
}

/** Runs shape `index` for `steps` iterations in this process; a mark every `every`. */
export function soakShape(index: number, steps: number, every: number): { marks: Mark[]; msPerIteration: number } {
  const step = LOOP_SHAPES[index].setup();
  const marks: Mark[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    step();
    if (i % every === 0) {
      const { liveTensors, highWater } = memoryStats();
      marks.push({ iteration: i, liveTensors, highWater });
    }
  }
  return { marks, msPerIteration: (performance.now() - t0) / steps };
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
}

const MiB = (b: number) => (b / 2 ** 20).toFixed(3);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = Number(flag(args, "--steps", "20000"));
  const every = Number(flag(args, "--every", "2000"));
  const backend = flag(args, "--backend", "wasm") as BackendName;
  if (!(Number.isInteger(steps) && steps > 0 && Number.isInteger(every) && every > 0 && steps >= 2 * every)) {
    console.error("soak-shapes: --steps and --every take positive integers, with steps ≥ 2·every");
    process.exit(2);
  }
  const child = flag(args, "--shape", "");
  if (child !== "") {
    setBackend(backend);
    process.stdout.write(JSON.stringify(soakShape(Number(child), steps, every)));
    return;
  }
  console.log(`# soak of every loop shape: ${steps} iterations each, ${backend} backend, node ${process.version}`);
  console.log("# cells: liveTensors / highWater MiB; no dispose(), keep(), gc() or await in any loop\n");
  const cols = Array.from({ length: steps / every }, (_, i) => (i + 1) * every);
  console.log(`| shape | ${cols.join(" | ")} | ms/iter | flat |`);
  console.log(`|---|${cols.map(() => "---:").join("|")}|---:|:---:|`);
  const grew: string[] = [];
  LOOP_SHAPES.forEach((shape, index) => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", process.argv[1], "--shape", String(index), "--steps", String(steps), "--every", String(every), "--backend", backend],
      { encoding: "utf8", maxBuffer: 1 << 24 },
    );
    if (run.status !== 0) {
      console.log(`| ${shape.name} | failed: ${(run.stderr || "").trim().split("\n").slice(0, 3).join(" ")} |`);
      grew.push(shape.name);
      return;
    }
    const { marks, msPerIteration } = JSON.parse(run.stdout) as { marks: Mark[]; msPerIteration: number };
    const [first, ...rest] = marks;
    const flat = rest.every((m) => m.liveTensors === first.liveTensors && m.highWater === first.highWater);
    if (!flat) grew.push(shape.name);
    const cells = marks.map((m) => `${m.liveTensors} / ${MiB(m.highWater)}`);
    console.log(`| ${shape.name} | ${cells.join(" | ")} | ${msPerIteration.toFixed(3)} | ${flat ? "yes" : "NO"} |`);
  });
  console.log("");
  if (grew.length === 0) console.log(`verdict: FLAT. Every shape held liveTensors and highWater exactly from iteration ${every} to ${steps}.`);
  else {
    console.log(`verdict: NOT FLAT: ${grew.join("; ")}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
