// wasmgrad bundles with no configuration. test/consumer/ is a user's app that
// imports "wasmgrad"; it resolves the package as an installed one:
// test/consumer/node_modules/wasmgrad links to the package root (what
// `npm install` makes of its "file:../.." dependency), whose `exports` name
// dist/, built here by `npm run build`. esbuild (platform browser) and Vite
// (no config file) bundle it with no plugin, wasm path or copy step; both
// bundles run in headless Chromium, the esbuild one in Node too. Prints the
// size of the library, minified and gzipped (also in test/artifacts/bundle-size.json).

import { execFile } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, serveStatic, type StaticServer } from "./chromium.ts";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const consumer = join(repo, "test", "consumer");
const artifacts = join(repo, "test", "artifacts");
const XOR = [0, 1, 1, 0];

let out = "";
const servers: StaticServer[] = [];

function gzipBytes(bytes: Uint8Array): number {
  return gzipSync(bytes, { level: 9 }).length;
}
const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;

beforeAll(async () => {
  await run("npm", ["run", "build"], { cwd: repo });
  // What `npm install` in test/consumer makes of "wasmgrad": "file:../..": a link to the package root.
  const modules = join(consumer, "node_modules");
  const link = join(modules, "wasmgrad");
  if (!existsSync(link) || !lstatSync(link).isSymbolicLink()) {
    mkdirSync(modules, { recursive: true });
    rmSync(link, { recursive: true, force: true });
    symlinkSync(relative(modules, repo) || ".", link, "dir");
  }
  out = mkdtempSync(join(tmpdir(), "wasmgrad-consumer-"));
  mkdirSync(artifacts, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe("bundling wasmgrad with no configuration", () => {
  it("npm run build emits the files the package's exports name", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    const entry = pkg.exports["."];
    for (const file of [entry.import, entry.types, pkg.main, pkg.types]) {
      expect(existsSync(join(repo, file)), `${file} (package.json) after npm run build`).toBe(true);
    }
  });

  it("esbuild --platform=browser bundles the consumer, and the bundle runs in Node", async () => {
    const result = await esbuild.build({
      entryPoints: [join(consumer, "main.js")],
      absWorkingDir: consumer,
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      outdir: join(out, "esbuild"),
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    // Resolved through the package's exports (dist/), not the TypeScript source.
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((p) => /(^|\/)dist\/index\.js$/.test(p))).toBe(true);
    expect(inputs.filter((p) => p.endsWith(".ts"))).toEqual([]);
    copyFileSync(join(consumer, "index.html"), join(out, "esbuild", "index.html"));

    const { result: done } = await import(pathToFileURL(join(out, "esbuild", "main.js")).href);
    const r = await done;
    expect(r.backend).toMatch(/^wasm-simd128(-relaxed)?$/);
    expect(r.predictions).toEqual(XOR);
    expect(r.loss).toBeLessThan(0.1);
  }, 60_000);

  it("vite build (no config file, no plugin) bundles the consumer", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(repo, "node_modules/vite/bin/vite.js"), "build", consumer, "--outDir", join(out, "vite"), "--emptyOutDir", "--logLevel", "warn"],
      { cwd: consumer },
    );
    // No warning either: e.g. none of "externalized for browser compatibility" for the Node-only code paths.
    expect(`${stdout}${stderr}`.trim()).toBe("");
    expect(readdirSync(join(out, "vite", "assets")).some((f) => f.endsWith(".js"))).toBe(true);
    expect(readdirSync(join(out, "vite", "assets")).filter((f) => f.endsWith(".wasm"))).toEqual([]);
  }, 60_000);

  it("both bundles run in headless Chromium", async () => {
    const browser = await launchChromium();
    try {
      for (const bundler of ["esbuild", "vite"]) {
        // Each app at the root of its own server: Vite's default base is "/".
        const server = await serveStatic(join(out, bundler), false);
        servers.push(server);
        const page = await browser.context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        const response = await page.goto(server.url);
        expect(response?.ok(), `${bundler}/index.html was built`).toBe(true);
        await page.waitForSelector("body[data-state]", { timeout: 20_000 });
        const text = (await page.textContent("#out"))!;
        expect(errors, bundler).toEqual([]);
        expect(await page.getAttribute("body", "data-state"), `${bundler}: ${text}`).toBe("done");
        const r = JSON.parse(text);
        expect(r.backend).toMatch(/^wasm-simd128(-relaxed)?$/);
        expect(r.predictions).toEqual(XOR);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("reports the size of the library, minified and gzipped", async () => {
    // The whole library (every export kept), as a browser bundle of the installed package.
    const whole = await esbuild.build({
      stdin: { contents: 'export * from "wasmgrad";', resolveDir: consumer, loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      logLevel: "silent",
    });
    const library = whole.outputFiles[0]!.contents;
    const wasmBase64 = /"([A-Za-z0-9+/=]{1000,})"/.exec(new TextDecoder().decode(library))?.[1] ?? "";
    const consumerJs = readFileSync(join(out, "esbuild", "main.js"));
    const viteJs = readdirSync(join(out, "vite", "assets")).filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(out, "vite", "assets", f)));
    const sizes = {
      library: { minified: library.length, minifiedGzip: gzipBytes(library) },
      embeddedWasm: { bytes: Math.floor((wasmBase64.length * 3) / 4), base64: wasmBase64.length, base64Gzip: gzipBytes(new TextEncoder().encode(wasmBase64)) },
      consumerEsbuild: { minified: consumerJs.length, minifiedGzip: gzipBytes(consumerJs) },
      consumerVite: { minified: viteJs.reduce((n, b) => n + b.length, 0), minifiedGzip: viteJs.reduce((n, b) => n + gzipBytes(b), 0) },
    };
    expect(wasmBase64.length).toBeGreaterThan(10_000);
    // A generous ceiling, to notice a dependency or a second copy of the module slipping in.
    expect(sizes.library.minifiedGzip).toBeLessThan(150_000);
    writeFileSync(join(artifacts, "bundle-size.json"), `${JSON.stringify(sizes, null, 2)}\n`);
    console.log(
      `wasmgrad library bundle (esbuild, platform browser, every export): ${kB(sizes.library.minified)} minified, ` +
        `${kB(sizes.library.minifiedGzip)} minified + gzip (-9); of it the embedded Wasm module: ` +
        `${kB(sizes.embeddedWasm.bytes)} as ${kB(sizes.embeddedWasm.base64)} of base64, ${kB(sizes.embeddedWasm.base64Gzip)} gzipped. ` +
        `The XOR consumer: esbuild ${kB(sizes.consumerEsbuild.minifiedGzip)}, Vite ${kB(sizes.consumerVite.minifiedGzip)} min + gzip.`,
    );
  });
});
