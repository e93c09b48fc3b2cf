// Python's spelling of values, for module reprs that read exactly as PyTorch prints them.

/** A float as Python's repr writes it: 0.5, 1.0, 1e-05, 1e+16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  const exp = x === 0 ? 0 : Math.floor(Math.log10(Math.abs(x)));
  // Python switches to exponent form below 1e-4 and from 1e16; JS only below 1e-6 and from 1e21.
  if (exp < -4 || exp >= 16) {
    const [mant, e] = x.toExponential().split("e");
    const n = Number(e);
    return `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(x);
}

export function pyBool(b: boolean): string {
  return b ? "True" : "False";
}

/** Indents every line but the first by n spaces (PyTorch's _addindent). */
export function addIndent(s: string, n: number): string {
  const lines = s.split("\n");
  if (lines.length === 1) return s;
  return [lines[0], ...lines.slice(1).map((l) => " ".repeat(n) + l)].join("\n");
}
