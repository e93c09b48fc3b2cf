// The errors wasmgrad throws, in one place. Each class answers "whose mistake,
// and of what kind", the way PyTorch's TypeError / IndexError / RuntimeError do:
//
//   TypeError            (built-in) an argument of the wrong kind: a string for a number, a tensor of the wrong dtype.
//   RangeError           (built-in) a shape, dim, index, count or value outside what the op accepts
//                        ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)").
//   AutogradError        the graph used in a way it cannot support: backward twice, a tensor changed in place
//                        after the graph saved it, backward of a tensor that needs no grad.
//   FormatError          bytes or a record that are not what they claim: an IDX or safetensors file, a state dict
//                        or checkpoint that does not fit the model. SafetensorsError is its safetensors kind.
//   IOError              a file or URL that could not be read or written (the cause is attached).
//   InternalError        a bug in wasmgrad itself: the message asks for a report.
//   OutOfMemoryError, ReclaimedTensorError, AnomalyError, KeyError, UsageError: the special cases their names say.
//
// Where PyTorch raises ValueError: RangeError for a number out of range (lr < 0),
// TypeError for any other unfit argument (a non-leaf tensor to optimize, a
// parameter in two groups). NotImplementedError (ModuleList's forward, an
// optimizer without update) is a TypeError: the object cannot be used that way.
//
// This file defines every class but three, which stay beside the code that
// throws them and are exported with the rest from index.ts: ReclaimedTensorError
// (storage.ts), OutOfMemoryError (backend/allocator.ts), AnomalyError
// (autograd.ts). It imports nothing at run time, on purpose: a module that
// extends one of these classes at load time (`class X extends FormatError`)
// must find it already defined, which an import cycle through errors.ts
// (errors -> autograd -> errors) would not guarantee.
//
// No plain `Error` is thrown anywhere in src/ (a test holds this): a caller can
// tell the kinds apart with instanceof and a message is never the only signal.

import type { CommandName } from "./cli/command-names.ts";

/** The graph used in a way autograd cannot support (PyTorch raises RuntimeError for these). */
export class AutogradError extends Error {
  override name = "AutogradError";
}

/** Bytes or a record that are not what they claim to be: a data file, a state dict, a checkpoint. */
export class FormatError extends Error {
  override name = "FormatError";
}

/** A file or URL that could not be read or written; `cause` holds the system's error. */
export class IOError extends Error {
  override name = "IOError";
}

/** A bug in wasmgrad: an invariant of the library itself failed. */
export class InternalError extends Error {
  override name = "InternalError";
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`wasmgrad internal error: ${detail} (this is a bug in wasmgrad: please report it)`, options);
  }
}

/**
 * A safetensors file (or a state dict on its way into one) that the format
 * refuses. Reading errors start "safetensors: "; writing errors name the
 * function that refused ("saveSafetensors: ").
 */
export class SafetensorsError extends FormatError {
  override name = "SafetensorsError";
  constructor(detail: string, options?: { cause?: unknown; where?: string }) {
    super(`${options?.where ?? "safetensors"}: ${detail}`, options);
  }
}

/** Python's KeyError, for names PyTorch rejects with one. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** A bad command line: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, readonly command?: CommandName) {
    super(message);
  }
}

/** The message of anything thrown (an Error's message, else the value as text), for wrapping it in one of these classes. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
