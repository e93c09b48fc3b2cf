// Bad input that a hostile tester got through (issue 15): each case is the
// reproduction, and what wasmgrad does now, worded as PyTorch words it where
// PyTorch has the same behaviour.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { full, manualSeed, nn, noGrad, ones, setBackend, tensor, zeros } from "../src/index.ts";
import { parseCommandLine } from "../src/cli/args.ts";
import { writeOrKeep } from "../src/cli/dropout.ts";

/** fn throws an error of class `kind` whose message contains `message`. */
function expectError(fn: () => unknown, kind: new (...args: never[]) => Error, message: string): void {
  expect(fn).toThrow(kind);
  expect(fn).toThrow(message);
}

afterEach(() => setBackend("wasm"));

describe("an int32 gradient given to backward() is cast to float32, as PyTorch casts it", () => {
  const intOnes = () => tensor([1, 1], { dtype: "int32" });

  it("through relu: the gradient is [1, 1], not the float bits of 1 (1.4e-45)", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    w.relu().backward(intOnes());
    expect(w.grad!.dtype).toBe("float32");
    expect(Array.from(w.grad!.data())).toEqual([1, 1]);
  });

  it("through exp", () => {
    const w = tensor([0, 0], { requiresGrad: true });
    w.exp().backward(intOnes());
    expect(Array.from(w.grad!.data())).toEqual([1, 1]);
  });

  it("through a Linear layer", () => {
    const lin = new nn.Linear(1, 2);
    noGrad(() => { lin.weight.fill_(0); lin.bias!.fill_(0); });
    lin.forward(tensor([[3]])).backward(tensor([[1, 2]], { dtype: "int32" }));
    expect(Array.from(lin.weight.grad!.data())).toEqual([3, 6]);
    expect(Array.from(lin.bias!.grad!.data())).toEqual([1, 2]);
  });

  it("through dropout in training mode: each gradient is 0 or 1/(1 − p)", () => {
    manualSeed(0);
    const w = zeros([64], { requiresGrad: true });
    nn.functional.dropout(w, 0.5, true).backward(tensor(new Int32Array(64).fill(1), { shape: [64] }));
    const g = Array.from(w.grad!.data());
    expect(g.every((x) => x === 0 || x === 2)).toBe(true);
    expect(g).toContain(2);
  });

  it("on a leaf itself", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    w.backward(intOnes());
    expect(w.grad!.dtype).toBe("float32");
    expect(Array.from(w.grad!.data())).toEqual([1, 1]);
  });
});

describe("printing a tensor with no elements", () => {
  it("prints [2^26, 2^26, 0] as PyTorch does, without building 2^52 arrays", () => {
    expect(String(zeros([2 ** 26, 2 ** 26, 0]))).toBe("tensor([], size=(67108864, 67108864, 0))");
  });

  it("prints a [0] tensor as tensor([]) and keeps dtype and requiresGrad", () => {
    expect(String(zeros([0]))).toBe("tensor([])");
    expect(String(zeros([3, 0], { dtype: "int32" }))).toBe("tensor([], size=(3, 0), dtype=int32)");
    expect(String(zeros([2, 0], { requiresGrad: true }))).toBe("tensor([], size=(2, 0), requiresGrad=true)");
  });

  it("gives the nested empty arrays from toArray() when they are few", () => {
    expect(zeros([2, 0, 3]).toArray()).toEqual([[], []]);
    expect(zeros([0]).toArray()).toEqual([]);
  });

  it("refuses toArray() when the nested empty arrays would not fit in memory", () => {
    expectError(
      () => zeros([2 ** 26, 2 ** 26, 0]).toArray(), RangeError,
      "toArray(): a tensor of shape [67108864, 67108864, 0] has no elements but would need 4503599694479361 nested empty arrays",
    );
  });
});

describe("pow gradients are 0 where PyTorch gives 0, not NaN", () => {
  it("d(x^0)/dx at x = 0 is 0", () => {
    const x = tensor([0], { requiresGrad: true });
    x.pow(0).sum().backward();
    expect(Array.from(x.grad!.data())).toEqual([0]);
  });

  it("a.pow(b) at a = 0: a.grad is 0 where b = 0, b.grad is 0 where b ≥ 0, and ±∞ stays ∞ (PyTorch's values)", () => {
    const a = tensor([0, 0, 0, 2], { requiresGrad: true });
    const b = tensor([0, 1, -1, 0], { requiresGrad: true });
    a.pow(b).sum().backward();
    expect(Array.from(a.grad!.data())).toEqual([0, 1, -Infinity, 0]);
    const gb = Array.from(b.grad!.data());
    expect(gb.slice(0, 3)).toEqual([0, 0, -Infinity]);
    expect(gb[3]).toBeCloseTo(Math.LN2, 6);
  });

  it("a.pow(b) broadcasts the zero rule: a [2, 1] against b [3]", () => {
    const a = tensor([[0], [1]], { requiresGrad: true });
    const b = tensor([0, 1, 2], { requiresGrad: true });
    a.pow(b).sum().backward();
    expect(Array.from(a.grad!.data())).toEqual([1, 3]);
    expect(Array.from(b.grad!.data())).toEqual([0, 0, 0]);
  });
});

describe("int32 fill_ and full refuse values int32 cannot hold, as PyTorch does", () => {
  it("refuses fill_(3e9) instead of wrapping it to -1294967296, and leaves the tensor as it was", () => {
    const t = zeros([2], { dtype: "int32" });
    expectError(() => t.fill_(3e9), RangeError, "value cannot be converted to type int32 without overflow: 3000000000");
    expect(Array.from(t.data())).toEqual([0, 0]);
  });

  it("refuses fill_(NaN) and fill_(Infinity) instead of writing 0", () => {
    expectError(() => zeros([2], { dtype: "int32" }).fill_(NaN), RangeError, "value cannot be converted to type int32 without overflow: NaN");
    expectError(() => zeros([2], { dtype: "int32" }).fill_(-Infinity), RangeError, "without overflow: -Infinity");
  });

  it("refuses full() with a value past int32, and keeps the limits and truncation PyTorch has", () => {
    expectError(() => full([2], 2 ** 31, { dtype: "int32" }), RangeError, "value cannot be converted to type int32 without overflow: 2147483648");
    expect(Array.from(full([2], 2 ** 31 - 1, { dtype: "int32" }).data())).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
    expect(Array.from(full([1], -(2 ** 31), { dtype: "int32" }).data())).toEqual([-(2 ** 31)]);
    expect(Array.from(full([2], -2.7, { dtype: "int32" }).data())).toEqual([-2, -2]);
  });

  it("refuses a float32 fill past float32's range, but keeps NaN and ±Infinity", () => {
    expectError(() => zeros([1]).fill_(1e40), RangeError, "value cannot be converted to type float32 without overflow: 1e+40");
    expect(Array.from(full([2], Infinity).data())).toEqual([Infinity, Infinity]);
    expect(Number.isNaN(full([1], NaN).item())).toBe(true);
  });
});

describe("loadStateDict names the key and what it expected", () => {
  const net = () => new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));

  it("refuses null as PyTorch does, instead of a raw JS message", () => {
    expectError(() => net().loadStateDict(null as never), TypeError, "Expected state_dict to be dict-like (an object of name → Tensor, as stateDict() returns), got null.");
  });

  it("refuses a number, an array and a tensor in place of the state dict", () => {
    expectError(() => net().loadStateDict(5 as never), TypeError, "got number 5.");
    expectError(() => net().loadStateDict([] as never), TypeError, "got an array of 0.");
    expectError(() => net().loadStateDict(zeros([1]) as never), TypeError, "got a Tensor.");
  });

  it("refuses a tensor-shaped object under a key, naming the key and the shape it needed", () => {
    const sd = { ...net().stateDict(), "2.bias": { shape: [1] } as never };
    expectError(
      () => net().loadStateDict(sd), Error,
      'Error(s) in loading state_dict for Sequential:\n\tWhile copying the parameter named "2.bias", expected a Tensor of shape [1] from checkpoint but received an object.',
    );
  });

  it("refuses null and undefined values under a key, and leaves the model as it was", () => {
    const target = net();
    const before = target.parameters().map((p) => Array.from(p.data()));
    const sd = { ...net().stateDict(), "0.weight": null as never, "0.bias": undefined as never };
    expectError(() => target.loadStateDict(sd), Error, 'While copying the parameter named "0.weight", expected a Tensor of shape [2, 3] from checkpoint but received null.');
    expectError(() => target.loadStateDict(sd), Error, 'While copying the parameter named "0.bias", expected a Tensor of shape [2] from checkpoint but received undefined.');
    expect(target.parameters().map((p) => Array.from(p.data()))).toEqual(before);
  });
});

describe("copy_ from another backend follows the same-backend rules", () => {
  it("refuses a js [2, 2] into a wasm [4], as a same-backend copy_ does", () => {
    const dst = zeros([4]);
    setBackend("js");
    const src = ones([2, 2]);
    expectError(() => dst.copy_(src), RangeError, "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 1");
    expect(Array.from(dst.data())).toEqual([0, 0, 0, 0]);
  });

  it("broadcasts a js [2] into a wasm [3, 2]", () => {
    const dst = zeros([3, 2]);
    setBackend("js");
    dst.copy_(tensor([1, 2]));
    expect(dst.toArray()).toEqual([[1, 2], [1, 2], [1, 2]]);
  });

  it("copies int32 labels across backends, and refuses float32 into int32 as within one backend", () => {
    const labels = zeros([2], { dtype: "int32" });
    setBackend("js");
    labels.copy_(tensor([3, 4], { dtype: "int32" }));
    expect(Array.from(labels.data())).toEqual([3, 4]);
    expectError(() => labels.copy_(tensor([1.5, 2])), TypeError, "copy_(): cannot copy a float32 tensor into an int32 tensor");
  });
});

describe("the command line checks output files can be written before training", () => {
  it("refuses --save into /proc up front, naming the directory", () => {
    expect(() => parseCommandLine(["dropout", "--save", "/proc/m.safetensors"])).toThrow("--save /proc/m.safetensors: cannot write a file in /proc (ENOENT)");
  });

  it("refuses --plot into /proc up front, for every command", () => {
    for (const command of ["dropout", "weight-decay", "demo"]) {
      expect(() => parseCommandLine([command, "--plot", "/proc/x.svg"])).toThrow("--plot /proc/x.svg: cannot write a file in /proc (ENOENT)");
    }
  });

  it("keeps the model in the temporary directory, and says where, if the write fails after training all the same", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-out-"));
    const path = join(dir, "m.safetensors");
    rmSync(dir, { recursive: true }); // the directory goes while the model trains
    const fallback = join(tmpdir(), `wasmgrad-${process.pid}-m.safetensors`);
    try {
      expect(() => writeOrKeep(path, new Uint8Array([1, 2, 3]))).toThrow(`the trained model was saved to ${fallback} instead`);
      expect(Array.from(readFileSync(fallback))).toEqual([1, 2, 3]);
    } finally {
      rmSync(fallback, { force: true });
    }
  });

  it("accepts a writable directory and leaves no probe file behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-out-"));
    try {
      expect(parseCommandLine(["dropout", "--save", join(dir, "m.safetensors"), "--plot", join(dir, "p.svg")])).toMatchObject({
        save: join(dir, "m.safetensors"), plot: join(dir, "p.svg"),
      });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
