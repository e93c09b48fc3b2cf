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

/** Where the global stream stands: the Philox key as two 32-bit words, and the next counter block. */
export interface RngState {
  seed: [number, number];
  offset: number;
}

/** The generator's state (torch.get_rng_state), for checkpoints: setRngState of it replays the same draws. */
export function getRngState(): RngState {
  return { seed: [seedLo, seedHi], offset };
}

/** Restores a state from getRngState (torch.set_rng_state); checked first, so a bad one changes nothing. */
export function setRngState(state: RngState): void {
  const valid = checkRngState(state, "setRngState");
  [seedLo, seedHi] = valid.seed;
  offset = valid.offset;
}

/** @internal `state` if it is a generator state, else a TypeError that starts with `where`. */
export function checkRngState(state: unknown, where: string): RngState {
  const word = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;
  const seed = (state as Partial<RngState> | null)?.seed;
  const at = (state as Partial<RngState> | null)?.offset;
  if (!Array.isArray(seed) || seed.length !== 2 || !seed.every(word) || !Number.isSafeInteger(at) || (at as number) < 0) {
    throw new TypeError(
      `${where}: expected { seed: [two 32-bit unsigned integers], offset: a non-negative safe integer } from getRngState(), got ${JSON.stringify(state)}`,
    );
  }
  return { seed: [seed[0], seed[1]], offset: at as number };
}
