// The soak benchmark's loop (bench/soak.ts), short: d2l's dropout MLP trained
// the way a user writes it, with no dispose(), must hold every memory figure
// exactly flat once the first epochs have warmed the allocator up.

import { describe, expect, it } from "vitest";
import { soak, soakVerdict, type SoakRow } from "../bench/soak.ts";
import { data, manualSeed, randn, tensor } from "../src/index.ts";

/** n items of Fashion-MNIST's shape: random images, labels 0..9. */
function synthetic(n: number): data.TensorDataset {
  return new data.TensorDataset(
    randn([n, 1, 28, 28]),
    tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % 10), { dtype: "int32" }),
  );
}

describe("soak", () => {
  it("holds liveTensors, liveBytes, pooledBytes and heapBytes exactly flat over 300 steps after warm-up, highWater within 1%", async () => {
    manualSeed(1);
    // 9 full batches of 64 and a short one of 36: a row every epoch, so every row sees the same phase.
    const rows = await soak(synthetic(612), synthetic(200), { steps: 300, every: 10, batchSize: 64 });
    expect(rows).toHaveLength(30);
    const [first, ...steady] = rows.slice(2);
    for (const r of steady) {
      expect({ step: r.step, ...pick(r) }).toEqual({ step: r.step, ...pick(first) });
      // The live set is flat; with an evaluation every epoch the allocator's layout still settles slowly
      // (fragmentation: +80 KiB of 9 MiB over the first 450 steps, then flat).
      expect(r.highWater).toBeLessThanOrEqual(first.highWater * 1.01);
    }
    expect(rows.at(-1)!.loss).toBeLessThan(rows[0].loss);
  });

  it("calls a figure that keeps growing after warm-up not flat, naming it", () => {
    const row = (step: number, liveBytes: number): SoakRow => ({
      step, liveTensors: 31, liveBytes, pooledBytes: 0, highWater: 1 << 20, heapBytes: 1 << 21, rssBytes: 200 << 20,
      loss: 1, trainAccuracy: 0.5, testAccuracy: 0.5, stepsPerSecond: 100,
    });
    const leaking = [1, 2, 3, 4, 5].map((i) => row(i * 1000, 1000 + i * 64));
    expect(soakVerdict(leaking)).toEqual({ flat: false, findings: ["liveBytes grew: 1192 by step 3000, 1320 later (+128)"] });
  });
});

function pick(r: SoakRow) {
  const { liveTensors, liveBytes, pooledBytes, heapBytes } = r;
  return { liveTensors, liveBytes, pooledBytes, heapBytes };
}
