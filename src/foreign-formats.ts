// Files that are not safetensors but are often mistaken for one: PyTorch's
// torch.save output (a zip, or a pickle in the legacy format), TorchScript
// archives, NumPy's .npy / .npz and other pickles. Loading one gets an error
// that says what the file is and how to write safetensors from it, instead of
// "header length 578712552184433500 exceeds the limit".

const SAVE_FROM_TORCH =
  'in PyTorch: from safetensors.torch import save_file; save_file(model.state_dict(), "model.safetensors")';
const SAVE_FROM_NUMPY =
  'in Python: from safetensors.numpy import save_file; save_file({"x": numpy.load("file.npy")}, "file.safetensors")';

/** What the bytes are and how to make safetensors of them, or null when they are none of the known formats. */
export function describeForeignFile(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return describeZip(bytes);
  if (starts(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) return `this is a NumPy .npy array, not a safetensors file: convert it ${SAVE_FROM_NUMPY}`;
  // torch.save(..., _use_new_zipfile_serialization=False): a protocol-2 pickle of PyTorch's magic number 0x1950a86a20f9469cfc6c.
  if (starts(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)) {
    return `this is a PyTorch file in the legacy pickle format (torch.save with _use_new_zipfile_serialization=False), not a safetensors file: save the state dict as safetensors ${SAVE_FROM_TORCH}`;
  }
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    return `this is a Python pickle (protocol ${bytes[1]}), not a safetensors file: wasmgrad reads no pickles (they can run code); save tensors as safetensors ${SAVE_FROM_TORCH}`;
  }
  if (starts(0x1f, 0x8b)) return "this is gzip-compressed data, not a safetensors file: decompress it first";
  if (starts(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)) return "this is an HDF5 file (e.g. Keras .h5), not a safetensors file";
  if (starts(0x47, 0x47, 0x55, 0x46)) return "this is a GGUF file (llama.cpp), not a safetensors file";
  if (starts(0x7b)) return "this is text starting with '{' (JSON?), not a safetensors file: a safetensors file starts with the 8-byte length of its JSON header";
  return null;
}

function describeZip(bytes: Uint8Array): string {
  // Entry names sit in each local header near the start and in the central directory at the end.
  const window = 1 << 16;
  const text = latin1(bytes.subarray(0, window)) + latin1(bytes.subarray(Math.max(window, bytes.length - window)));
  if (/\/constants\.pkl|\/code\//.test(text)) {
    return `this is a TorchScript archive (torch.jit.save), not a safetensors file: load it in PyTorch and save its state dict ${SAVE_FROM_TORCH}`;
  }
  if (/data\.pkl/.test(text)) {
    return `this is a PyTorch checkpoint (torch.save, a zip of pickles), not a safetensors file: wasmgrad reads no pickles (they can run code); save the state dict as safetensors ${SAVE_FROM_TORCH}`;
  }
  if (/\.npy/.test(text)) {
    return 'this is a NumPy .npz archive, not a safetensors file: convert it in Python: from safetensors.numpy import save_file; save_file(dict(numpy.load("file.npz")), "file.safetensors")';
  }
  return "this is a zip archive, not a safetensors file";
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}
