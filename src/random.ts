// The global random stream: a Philox key (the seed) and a counter offset.
// Every draw (randn, rand, dropout masks, DataLoader shuffles) takes the next
// counter blocks, so a seed gives the same numbers on every backend and build.

import type { Backend } from "./backend/backend.ts";

let seedLo = 0x853c49e6;
let seedHi = 0x748fea9b;
let offset = 0;

/** Seeds the generator, like torch.manual_seed. Accepts integers in [0, 2^53). */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
  }
  seedLo = seed >>> 0;
  seedHi = Math.floor(seed / 4294967296) >>> 0;
  offset = 0;
}

/** The stream position for a draw of n values, advancing the generator past it. */
export function takeStream(be: Backend, n: number): { seedLo: number; seedHi: number; offset: number } {
  const at = { seedLo, seedHi, offset };
  offset += be.kernels.random_blocks(n);
  return at;
}

/** The generator's state, for checkpoints. */
export function getRngState(): { seed: [number, number]; offset: number } {
  return { seed: [seedLo, seedHi], offset };
}

export function setRngState(state: { seed: [number, number]; offset: number }): void {
  [seedLo, seedHi] = state.seed;
  offset = state.offset;
}
