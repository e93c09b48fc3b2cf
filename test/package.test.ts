// wasmgrad as people get it. A clone of this working tree (the files git would
// commit: no dist/, no build/, no generated source) gets `npm install` and
// nothing else; an app next to it that depends on it ("file:../wasmgrad", what a
// sibling checkout, a git dependency or a workspace link amounts to) must then
// import it in Node, type-check with --strict, and bundle with esbuild and Vite.
// Then the clone is packed as `npm publish` would pack it: publint and "are the
// types wrong" check the tarball, and an app that installs the tarball gets the
// library alone (no plotting or progress-bar package) and a working `wasmgrad`.
//
// The clone's node_modules start as hard links to this checkout's (same lockfile,
// so `npm install` finds them up to date and only runs the package's own
// scripts); where links cannot be made, it installs from npm's cache.

import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const XOR = [0, 1, 1, 0];

let tmp = "";
let clone = "";
let app = "";
let tarball = "";

/** Runs a command; on failure the error carries its output. */
async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    return await exec(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}
const npm = (args: string[], cwd: string) => run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], cwd);
const bin = (name: string) => join(clone, "node_modules", ".bin", name);

/** The files a clone of this working tree would have: tracked and untracked files that git does not ignore. */
async function copyWorkingTree(to: string) {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], repo);
  for (const file of stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(repo, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(repo, file), join(to, file));
  }
}

/** Hard-links this checkout's installed packages into the clone; false where the file system refuses. */
async function linkNodeModules(to: string): Promise<boolean> {
  const folders = ["node_modules", "tools/docs/node_modules"].filter((f) => existsSync(join(repo, f)));
  try {
    for (const f of folders) await run("cp", ["-al", join(repo, f), join(to, f)], repo);
  } catch {
    for (const f of folders) rmSync(join(to, f), { recursive: true, force: true });
    return false;
  }
  // npm rewrites its hidden lockfile in place: the clone gets its own copy, not a link to ours.
  for (const f of folders) {
    const lock = join(to, f, ".package-lock.json");
    if (existsSync(lock)) {
      const text = readFileSync(lock);
      rmSync(lock);
      writeFileSync(lock, text);
    }
  }
  return true;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "wasmgrad-package-"));
  clone = join(tmp, "wasmgrad");
  app = join(tmp, "app");
  await copyWorkingTree(clone);
  expect(existsSync(join(clone, "dist")), "a clone has no dist/").toBe(false);
  await linkNodeModules(clone);
  await npm(["install"], clone);

  mkdirSync(app);
  const types = pkg.devDependencies["@types/node"];
  writeFileSync(join(app, "package.json"), JSON.stringify({
    name: "wasmgrad-consumer", private: true, type: "module",
    dependencies: { wasmgrad: "file:../wasmgrad" }, devDependencies: { "@types/node": types },
  }));
  for (const f of ["main.js", "index.html"]) cpSync(join(repo, "test", "consumer", f), join(app, f));
  writeFileSync(join(app, "check.ts"), TYPED_CONSUMER);
  await npm(["install"], app);
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// A TypeScript user's program: the names and types a PyTorch user reaches for.
const TYPED_CONSUMER = `
import { manualSeed, memoryStats, nn, noGrad, optim, tensor, type MemoryStats, type Tensor } from "wasmgrad";

manualSeed(0);
const X: Tensor = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([0, 1, 1, 0], { dtype: "int32" });
const net = new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Linear(8, 2));
const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
const loss = new nn.CrossEntropyLoss().forward(net.forward(X), y);
opt.zeroGrad();
loss.backward();
opt.step();
const value: number = loss.item();
const predictions = noGrad(() => net.forward(X).argmax(1).toArray());
const stats: MemoryStats = memoryStats();
export const summary = { value, predictions, live: stats.liveTensors };
`;

describe("a clone after `npm install` alone, used by an app next to it", () => {
  it("npm install builds dist/ with the files package.json's exports name", () => {
    for (const file of [pkg.exports["."].import, pkg.exports["."].types, pkg.main, pkg.types]) {
      expect(existsSync(join(clone, file)), `${file} after npm install`).toBe(true);
    }
  });

  it("the app imports wasmgrad in Node (ESM) and trains XOR on the Wasm backend", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e",
      'const { result } = await import("./main.js"); console.log(JSON.stringify(await result));'], app);
    const r = JSON.parse(stdout);
    expect(r.backend).toMatch(/^wasm-simd128(-relaxed)?$/);
    expect(r.predictions).toEqual(XOR);
  }, 60_000);

  it("the app type-checks with tsc --strict, declaration files included, as a Node app and as a browser app", async () => {
    const strict = ["--strict", "--noEmit", "--skipLibCheck", "false", "--target", "es2022"];
    // Node: NodeNext resolution, Node's globals from @types/node, no DOM.
    await run(bin("tsc"), [...strict, "--module", "nodenext", "--moduleResolution", "nodenext", "--lib", "es2023", "--types", "node", "check.ts"], app);
    // Browser: bundler resolution, the DOM's globals, no Node types.
    await run(bin("tsc"), [...strict, "--module", "preserve", "--moduleResolution", "bundler", "--lib", "es2023,dom", "--types", "", "check.ts"], app);
  }, 120_000);

  it("esbuild bundles the app for the browser from dist/, and the bundle runs", async () => {
    const outdir = join(tmp, "esbuild");
    const result = await esbuild.build({
      entryPoints: [join(app, "main.js")], absWorkingDir: app, bundle: true, platform: "browser",
      format: "esm", minify: true, outdir, metafile: true, logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((p) => /(^|\/)wasmgrad\/dist\/index\.js$/.test(p))).toBe(true);
    const { result: done } = await import(pathToFileURL(join(outdir, "main.js")).href);
    expect((await done).predictions).toEqual(XOR);
  }, 60_000);

  it("Vite builds the app with no config file and no warning", async () => {
    const outDir = join(tmp, "vite");
    const { stdout, stderr } = await run(process.execPath,
      [join(clone, "node_modules/vite/bin/vite.js"), "build", app, "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], app);
    expect(`${stdout}${stderr}`.trim()).toBe("");
    expect(readdirSync(join(outDir, "assets")).some((f) => f.endsWith(".js"))).toBe(true);
  }, 120_000);
});

describe("the packed package (what npm publish uploads)", () => {
  beforeAll(async () => {
    const { stdout } = await npm(["pack", "--pack-destination", tmp, "--json"], clone);
    tarball = join(tmp, JSON.parse(stdout.slice(stdout.indexOf("[")))[0].filename);
  }, 300_000);

  it("holds the built library, its licence, changelog and data, and no sources, tests, benchmarks or tools", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball], tmp);
    const files = stdout.split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
    for (const f of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "bin/wasmgrad.mjs", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js",
      "data/fashion-mnist-subset/README.md", "data/pytorch-reference/dropout_mlp_20seeds.json"]) {
      expect(files, f).toContain(f);
    }
    const top = new Set(files.map((f) => f.split("/")[0]));
    expect([...top].sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "bin", "data", "dist", "package.json"]);
    expect(files.filter((f) => /\.(test|spec)\.|fixtures|artifacts|\.tsbuildinfo$/.test(f))).toEqual([]);
  });

  it("passes publint (warnings count as errors)", async () => {
    const { stdout } = await run(bin("publint"), ["run", tarball, "--strict"], tmp);
    expect(stdout).toContain("All good");
  }, 60_000);

  it('passes "are the types wrong" for ESM consumers (the package is ESM-only)', async () => {
    await run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], tmp);
  }, 60_000);

  it("an app that installs the tarball gets wasmgrad alone: no plotting or progress-bar package", async () => {
    const user = join(tmp, "user");
    mkdirSync(user);
    writeFileSync(join(user, "package.json"), JSON.stringify({ name: "wasmgrad-user", private: true, type: "module" }));
    await npm(["install", tarball], user);
    const { stdout } = await run("npm", ["ls", "--omit=dev", "--all", "--parseable"], user);
    const installed = stdout.split("\n").filter(Boolean).map((p) => p.slice(user.length + 1)).filter(Boolean);
    expect(installed).toEqual(["node_modules/wasmgrad"]);

    const r = await run(process.execPath, ["--input-type=module", "-e",
      'const { tensor } = await import("wasmgrad"); console.log(tensor([1, 2]).mul(3).toArray().join(","));'], user);
    expect(r.stdout.trim()).toBe("3,6");
    // The command line runs from dist/ (no tsx there); --plot says what to install before any training.
    const wasmgrad = join(user, "node_modules", ".bin", "wasmgrad");
    const wd = await run(wasmgrad, ["weight-decay", "--lambd", "3", "--epochs", "2", "--json"], user);
    expect(wd.stdout).toContain('"type":"summary"');
    const plot = await exec(wasmgrad, ["weight-decay", "--lambd", "3", "--plot", join(user, "wd.svg")], { cwd: user }).then(
      () => ({ code: 0, stdout: "", stderr: "" }), (e: { code: number; stdout: string; stderr: string }) => e);
    expect(plot.code).toBe(1);
    expect(plot.stderr).toContain("npm install vega vega-lite");
    expect(plot.stdout, "nothing trained before the error").toBe("");
  }, 120_000);
});
