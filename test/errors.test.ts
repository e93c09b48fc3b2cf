// The error convention of src/errors.ts: every throw names its kind with a
// class (TypeError, RangeError, AutogradError, FormatError, IOError,
// InternalError or a special case), so a caller tells kinds apart with
// instanceof. One test reads the sources for plain `Error`s; the others feed
// representative bad inputs to the public API and check the class it documents.

import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../src/cli/args.ts";
import { encodeIdx, parseIdx } from "../src/data/idx.ts";
import {
  AutogradError, FormatError, InternalError, IOError, io, KeyError, nn, optim, SafetensorsError, tensor, UsageError, zeros,
} from "../src/index.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The error `run` throws (the test fails if it returns). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw, but it returned");
}

describe("the error convention", () => {
  it("no file under src/ throws a plain Error", () => {
    const plainThrow = /\bthrow\s+(new\s+)?Error\s*\(/;
    const offenders = sourceFiles(SRC).flatMap((path) =>
      readFileSync(path, "utf8")
        .split("\n")
        .flatMap((line, i) => (plainThrow.test(line) ? [`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders, `plain Errors thrown (use a class from src/errors.ts):\n${offenders.join("\n")}`).toEqual([]);
  });

  it("each class carries its own name, and InternalError asks for a bug report", () => {
    expect(new AutogradError("x").name).toBe("AutogradError");
    expect(new FormatError("x").name).toBe("FormatError");
    expect(new IOError("x").name).toBe("IOError");
    expect(new KeyError("x").name).toBe("KeyError");
    expect(new UsageError("x").name).toBe("UsageError");
    expect(new SafetensorsError("x").name).toBe("SafetensorsError");
    expect(new InternalError("a freed block was freed again").message).toBe(
      "wasmgrad internal error: a freed block was freed again (this is a bug in wasmgrad: please report it)",
    );
  });
});

describe("bad input throws the documented class", () => {
  it("a truncated IDX file is a FormatError naming the sizes", () => {
    const whole = encodeIdx([2, 3], new Uint8Array(6));
    const error = thrown(() => parseIdx(whole.subarray(0, whole.length - 1), "images.idx"));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toBe(
      "IDX images.idx truncated: dims [2, 3] need 6 data bytes after the 12-byte header, found 5",
    );
  });

  it("encoding IDX with data of the wrong length is a RangeError (the caller's arguments, not a file)", () => {
    expect(() => encodeIdx([2, 3], new Uint8Array(5))).toThrow(RangeError);
  });

  it("saving two tensors under one name is a SafetensorsError, which is a FormatError", () => {
    const error = thrown(() => io.saveSafetensors([["w", zeros([1])], ["w", zeros([1])]]));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toBe("saveSafetensors: duplicate tensor name 'w'");
  });

  it("reading a file that is not safetensors is a SafetensorsError whose message starts with 'safetensors: '", () => {
    const error = thrown(() => io.loadSafetensors(new Uint8Array(4)));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message.startsWith("safetensors: ")).toBe(true);
  });

  it("loading a state dict with a missing key is a FormatError in PyTorch's words", () => {
    const model = new nn.Linear(2, 1);
    const error = thrown(() => model.loadStateDict({ weight: zeros([1, 2]) }));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toBe('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias".');
  });

  it("loading an optimizer state dict for other parameter groups is a FormatError", () => {
    const sgd = new optim.SGD(new nn.Linear(2, 1).parameters(), { lr: 0.1 });
    const error = thrown(() => sgd.loadStateDict({ state: {}, paramGroups: [] }));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/^Error in loading state_dict for SGD: /);
  });

  it("optimizing a non-leaf tensor is a TypeError: the wrong kind of tensor (PyTorch's ValueError)", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const error = thrown(() => new optim.SGD([w.mul(2)], { lr: 0.1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("can't optimize a non-leaf Tensor");
  });

  it("a buffer name with a dot is a KeyError, as in PyTorch", () => {
    const error = thrown(() => new nn.Linear(1, 1).registerBuffer("running.mean", zeros([1])));
    expect(error).toBeInstanceOf(KeyError);
    expect((error as Error).message).toBe('buffer name can\'t contain ".", got: running.mean');
  });

  it("a checkpoint whose random-generator state is malformed is a FormatError, though setRngState would throw a TypeError", () => {
    const model = new nn.Linear(2, 1);
    const bytes = io.saveCheckpoint({ model });
    const { metadata } = io.readSafetensorsHeader(bytes);
    const broken = io.saveSafetensors(io.loadSafetensors(bytes), { ...metadata, rng: '{"seed":[1],"offset":0}' });
    const error = thrown(() => io.loadCheckpoint(broken, { model }));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/^loadCheckpoint: rng: expected \{ seed: \[two 32-bit unsigned integers\]/);
  });

  it("a bad command line is a UsageError naming the option and the command", () => {
    const error = thrown(() => parseCommandLine(["dropout", "--epochs", "0"]));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('--epochs must be a positive integer, got "0"');
    expect((error as UsageError).command).toBe("dropout");
  });

  it("a file that cannot be read is an IOError carrying the system's error as its cause", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wasmgrad-errors-"));
    try {
      const missing = join(dir, "missing.safetensors");
      const error = await io.loadFile(missing).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IOError);
      expect((error as IOError).message).toMatch(new RegExp(`^loadFile: could not read ${missing}: ENOENT`));
      expect((error as { cause?: { code?: string } }).cause?.code).toBe("ENOENT");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
