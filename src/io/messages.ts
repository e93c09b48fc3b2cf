// How values, names and shapes read in io's error messages.

// ---- messages ----------------------------------------------------------------

export function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return `${typeof x} ${String(x)}`;
  if (typeof x === "object") {
    const kind = Object.getPrototypeOf(x)?.constructor?.name;
    return kind && kind !== "Object" ? `a ${kind}` : "an object";
  }
  return typeof x;
}

/** A name quoted for a message, clipped: a hostile file can hold a name of megabytes. */
export function quoted(name: string): string {
  return name.length > 80 ? `'${name.slice(0, 80)}…' (${name.length} chars)` : `'${name}'`;
}

export function shapeText(shape: readonly number[]): string {
  return shape.length > 8 ? `[${shape.slice(0, 8).join(", ")}, …] (${shape.length} dims)` : `[${shape.join(", ")}]`;
}

export { describeError } from "../errors.ts";
