// What this browser and server offer the demo: WebAssembly SIMD, cross-origin
// isolation (threads) and the full Fashion-MNIST.

import { $, badge } from "./dom.ts";
import type { DatasetName } from "./protocol.ts";

/** 128-bit SIMD in this engine? (A one-function module using v128, as wasm-feature-detect checks it.) */
export function simdSupported(): boolean {
  const bytes = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
  return typeof WebAssembly === "object" && WebAssembly.validate(new Uint8Array(bytes));
}

/**
 * Reports cross-origin isolation. When the page is not isolated it says which of the
 * two headers the server did not send: once on the console and once on the page.
 */
export async function checkIsolation(): Promise<void> {
  const isolated = window.crossOriginIsolated === true;
  const sab = typeof SharedArrayBuffer === "function";
  badge("env-isolated", isolated, isolated ? "COOP same-origin + COEP require-corp: threads available" : "Threads need the COOP and COEP headers");
  badge("env-sab", sab);
  if (isolated) return;
  const wanted: [string, string, string[]][] = [
    ["Cross-Origin-Opener-Policy", "same-origin", ["same-origin"]],
    ["Cross-Origin-Embedder-Policy", "require-corp", ["require-corp", "credentialless"]],
  ];
  let missing = wanted.map(([name, value]) => `${name}: ${value}`);
  try {
    const response = await fetch(location.href, { method: "HEAD", cache: "no-store" });
    missing = wanted
      .filter(([name, , accepted]) => !accepted.includes(response.headers.get(name)?.trim().toLowerCase() ?? ""))
      .map(([name, value]) => `${name}: ${value}`);
  } catch {
    // Keep both: we could not see the headers.
  }
  const why = missing.length
    ? `the server did not send ${missing.join(" and ")}`
    : "the headers are sent, but the page is not a secure context (use https or localhost)";
  console.warn(
    `wasmgrad demo: this page is not cross-origin isolated: ${why}. SharedArrayBuffer is unavailable, ` +
      "so training runs on one thread (`npm run web` sends both headers).",
  );
  const note = $("isolation-note");
  note.textContent = `Not cross-origin isolated: ${why}. Training runs on one thread; threads need both headers.`;
  note.hidden = false;
}

/** Is the full Fashion-MNIST on this server? data/datasets.json says (`npm run web` serves it when the machine has it). */
export async function fullSetAvailable(): Promise<boolean> {
  try {
    const response = await fetch(new URL("data/datasets.json", document.baseURI), { cache: "no-store" });
    return response.ok && (await response.json()).full === true;
  } catch {
    return false;
  }
}

export function dataUrl(name: DatasetName): string {
  return new URL(`data/${name === "full" ? "fashion-mnist" : "fashion-mnist-subset"}/`, document.baseURI).href;
}
