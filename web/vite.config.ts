// The training demo page: `npm run web` serves it (with the headers that make a
// page cross-origin isolated), `npm run build:web` writes it to web/dist/ as
// static files, the bundled Fashion-MNIST subset included.

import { existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const repo = fileURLToPath(new URL("..", import.meta.url));
const subsetDir = join(repo, "data", "fashion-mnist-subset");

/** COOP + COEP: what makes a page cross-origin isolated (SharedArrayBuffer, so wasmgrad's threads). */
export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
} as const;

const IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
const IDX_FILE = new RegExp(`^(${IDX_NAMES.join("|")})(\\.gz)?$`);

/** The full Fashion-MNIST on this machine ($FASHION_MNIST_DIR, else Debian's dataset-fashion-mnist), if it is there. */
function fullSetDir(): string | null {
  const dir = process.env.FASHION_MNIST_DIR || "/usr/share/datasets/fashion-mnist";
  const has = (name: string) => [name, `${name}.gz`].some((f) => existsSync(join(dir, f)));
  return IDX_NAMES.every(has) ? dir : null;
}

/** Which data sets the server has: the page offers the full set only when it is there (a probe would log a 404). */
function datasets(full: boolean) {
  return {
    subset: true,
    full,
    note: "full: the four Fashion-MNIST IDX files (gzipped or not) in data/fashion-mnist/ next to this file",
  };
}

/**
 * Serves data/datasets.json (which sets there are), data/fashion-mnist-subset/ at /data/fashion-mnist-subset/ and the full set
 * (when this machine has it) at /data/fashion-mnist/, in dev and preview; copies
 * the subset into the static build. Only the four IDX file names are served.
 */
function fashionMnistFiles(): Plugin {
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (req.url?.split("?")[0] === "/data/datasets.json") {
      res.setHeader("Content-Type", "application/json");
      res.setHeader("Cache-Control", "no-store");
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
      return res.end(JSON.stringify(datasets(fullSetDir() !== null)));
    }
    const m = /^\/data\/(fashion-mnist-subset|fashion-mnist)\/([^/?#]+)/.exec(req.url ?? "");
    if (!m || !IDX_FILE.test(m[2]!)) return next();
    const dir = m[1] === "fashion-mnist-subset" ? subsetDir : fullSetDir();
    const path = dir && join(dir, m[2]!);
    if (!path || !existsSync(path)) {
      res.statusCode = 404;
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
      return res.end("not found");
    }
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", statSync(path).size);
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    res.end(req.method === "HEAD" ? undefined : readFileSync(path));
  };
  return {
    name: "wasmgrad-fashion-mnist-files",
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "data/datasets.json", source: JSON.stringify(datasets(false), null, 2) });
      for (const name of IDX_NAMES) {
        this.emitFile({
          type: "asset",
          fileName: `data/fashion-mnist-subset/${name}.gz`,
          source: readFileSync(join(subsetDir, `${name}.gz`)),
        });
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  // `wasmgrad` is this repository's source, so the page always shows the library as it is
  // (and the worker shares one instance with src/training.ts). test/bundle.test.ts checks
  // that a consumer resolving the published package (dist/) bundles with no configuration.
  resolve: { alias: [{ find: /^wasmgrad$/, replacement: join(repo, "src", "index.ts") }] },
  plugins: [fashionMnistFiles()],
  worker: { format: "es" },
  server: { headers: ISOLATION_HEADERS, host: "127.0.0.1" },
  preview: { headers: ISOLATION_HEADERS, host: "127.0.0.1" },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1000 },
});
