// The API reference (npm run docs: TypeDoc over what src/index.ts exports) builds
// without a warning: a broken {@link}, or an exported signature that names a type
// the reference cannot show, fails here rather than on the published site.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "wasmgrad-docs-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("the API reference", () => {
  it("npm run docs generates it with no TypeDoc warning, with pages for Tensor, nn, optim, data and io", async () => {
    const r = await promisify(execFile)(process.execPath, [join(repo, "tools/docs.mjs"), "--out", out], { cwd: repo, maxBuffer: 16 << 20 })
      .catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect("code" in r ? r.code : 0, `${r.stdout}${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[warning\]/);
    expect(existsSync(join(out, "index.html"))).toBe(true);
    expect(readFileSync(join(out, "classes", "Tensor.html"), "utf8")).toContain("backward");
    for (const ns of ["nn", "optim", "data", "io"]) expect(existsSync(join(out, "modules", `${ns}.html`)), `modules/${ns}.html`).toBe(true);
  }, 300_000);
});
