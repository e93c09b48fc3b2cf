// Reading a Wasm binary's sections, for tests that check what a build contains.

/** An unsigned LEB128 at pos: [value, position after it]. */
export function readLeb(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7;
  }
}

/** Section id → payload. */
export function sections(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let pos = 8;
  while (pos < buf.length) {
    const id = buf[pos++]!;
    const [size, next] = readLeb(buf, pos);
    out.set(id, buf.subarray(next, next + size));
    pos = next + size;
  }
  return out;
}
