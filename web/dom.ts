// Small DOM and number-formatting helpers the page's modules share.

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => $<HTMLInputElement>(id);
export const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
export const fmtInt = (x: number) => Math.round(x).toLocaleString("en-US");

/** Marks an environment badge as present or missing, with an optional tooltip saying why. */
export function badge(id: string, ok: boolean, title?: string): void {
  const el = $(id);
  el.dataset.ok = String(ok);
  if (title) el.title = title;
}
