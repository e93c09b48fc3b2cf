// The memory rule in every natural loop: no dispose(), keep(), garbage collection or await
// in the loop, and liveTensors and highWater do not move after warm-up.

import { describe, expect, it, vi } from "vitest";
import { LOOP_SHAPES } from "./helpers/loop-shapes.ts";

const WARMUP = 200;
const CHECKS = 4;
const EVERY = 50;

/**
 * A fresh copy of the library and of the shapes: its heap holds this loop
 * alone, and no earlier test's garbage is finalized into its figures.
 */
async function fresh(index: number) {
  vi.resetModules();
  const { LOOP_SHAPES: shapes } = await import("./helpers/loop-shapes.ts");
  const { memoryStats } = await import("../src/index.ts");
  const mark = () => {
    const { liveTensors, highWater } = memoryStats();
    return { liveTensors, highWater };
  };
  return { step: shapes[index].setup(), mark };
}

/** An animation frame's worth of waiting: a macrotask, so timers and finalizers could run (they must not matter). */
const nextFrame = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("every natural loop holds its memory flat with nothing but the loop", () => {
  LOOP_SHAPES.forEach((shape, index) => {
    it(`${shape.name}: liveTensors and highWater constant after warm-up`, async () => {
      const { step, mark } = await fresh(index);
      for (let i = 0; i < WARMUP; i++) step();
      const first = mark();
      for (let c = 1; c <= CHECKS; c++) {
        for (let i = 0; i < EVERY; i++) step();
        expect({ after: WARMUP + c * EVERY, ...mark() }).toEqual({ after: WARMUP + c * EVERY, ...first });
      }
    });

    it(`${shape.name}, with an await per iteration: the same`, async () => {
      const { step, mark } = await fresh(index);
      for (let i = 0; i < WARMUP; i++) {
        step();
        await nextFrame();
      }
      const first = mark();
      for (let c = 1; c <= CHECKS; c++) {
        for (let i = 0; i < EVERY; i++) {
          step();
          await nextFrame();
        }
        expect({ after: WARMUP + c * EVERY, ...mark() }).toEqual({ after: WARMUP + c * EVERY, ...first });
      }
    });
  });
});
