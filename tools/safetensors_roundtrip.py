#!/usr/bin/python3
"""Safetensors files between PyTorch and wasmgrad, checked in both directions.

Run with Debian's interpreter, which has torch 1.13 (the `safetensors` Python
package is not needed: the format is read and written here with struct + json):

    /usr/bin/python3 tools/safetensors_roundtrip.py write-torch
    npx tsx tools/write-wasmgrad-safetensors.ts
    /usr/bin/python3 tools/safetensors_roundtrip.py read-wasmgrad

(no argument runs both Python steps, the second only if wasmgrad's file exists).

write-torch writes, in test/fixtures/safetensors/:
  torch_mlp.safetensors      the d2l dropout-chapter MLP (seed 0, PyTorch's
                             default init) as PyTorch names and orders it
  torch_mlp_io.json          a fixed input (the first 4 Fashion-MNIST test
                             images of the bundled subset, in [0, 1]) and the
                             model's eval-mode output
  reference_writer.safetensors  edge cases (int64, empty, 0-d, -0, inf,
                             "__proto__") written by the `safetensors` package
                             itself; only rewritten where that package is
                             installed (it is not in Debian's python3)

read-wasmgrad reads wasmgrad_mlp.safetensors (written by wasmgrad), loads it
into the same PyTorch architecture with load_state_dict(strict=True), runs the
input of wasmgrad_mlp_io.json and compares with wasmgrad's output; the result
goes to torch_read_wasmgrad.json (with the sha256 of the file it read, so the
tests can tell it is about the file still committed). It exits non-zero if the
outputs differ by more than TOLERANCE. Where the `safetensors` package is
importable, both files are also read with its reference (Rust) reader and must
give the same tensors; torch_read_wasmgrad.json records which reader checked.

Every tensor in the JSON files is {"shape": [...], "data": [...]}, data
flattened row-major as the exact float32 values.
"""

import gzip
import hashlib
import json
import os
import struct
import sys

import torch
from torch import nn

SCRIPT = "tools/safetensors_roundtrip.py"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "safetensors")
IMAGES = os.path.join(ROOT, "data", "fashion-mnist-subset", "t10k-images-idx3-ubyte.gz")
SEED = 0
BATCH = 4
TOLERANCE = 1e-5
MAX_HEADER_BYTES = 100_000_000

DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "F64": torch.float64}
ITEM_BYTES = {"F32": 4, "I32": 4, "I64": 8, "F64": 8}
NAMES = {v: k for k, v in DTYPES.items()}


def d2l_mlp():
    """The MLP of d2l's dropout chapter (concise implementation)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10),
    )


# ---- the format ---------------------------------------------------------------

def save_safetensors(tensors, metadata=None):
    """Bytes as safetensors' save() lays them out, tensors in the order given."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()  # little-endian on every host torch runs on here
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def load_safetensors(data):
    """(tensors in header order, metadata), with the reference crate's layout checks."""
    if len(data) < 8:
        raise ValueError("file too short for the header length")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise ValueError(f"header length {n} does not fit the {len(data)}-byte file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    body = data[8 + n:]
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        if begin != covered or end < begin:
            raise ValueError(f"tensor {name!r}: data_offsets {info['data_offsets']} leave a hole or overlap")
        numel = 1
        for d in info["shape"]:
            numel *= d
        if numel * ITEM_BYTES[info["dtype"]] != end - begin:
            raise ValueError(f"tensor {name!r}: shape {info['shape']} does not match {end - begin} bytes")
        covered = end
    if covered != len(body):
        raise ValueError(f"tensors cover {covered} of {len(body)} data bytes")
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if begin == end:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype).reshape(info["shape"]).clone()
    return tensors, metadata


def check_with_reference_reader(data, tensors):
    """When the `safetensors` package is installed, its (Rust) reader must see the same tensors; returns its version or None."""
    try:
        import safetensors
        from safetensors.torch import load as reference_load
    except ImportError:
        return None
    reference = reference_load(bytes(data))
    assert sorted(reference) == sorted(tensors), (sorted(reference), sorted(tensors))
    for name, t in tensors.items():
        assert reference[name].dtype == t.dtype and torch.equal(reference[name], t), name
    return f"safetensors {safetensors.__version__}"


# ---- fixtures -----------------------------------------------------------------

def tensor_json(t):
    t = t.detach()
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


def tensor_from_json(obj):
    return torch.tensor(obj["data"], dtype=torch.float32).reshape(obj["shape"])


def first_test_images(count):
    with gzip.open(IMAGES, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack_from(">IIII", raw, 0)
    assert magic == 0x0803 and n >= count, (hex(magic), n)
    pixels = torch.frombuffer(bytearray(raw[16:16 + count * rows * cols]), dtype=torch.uint8)
    return (pixels.float() / 255).reshape(count, 1, rows, cols)


def path(name):
    return os.path.join(OUT_DIR, name)


def write_json(name, payload):
    with open(path(name), "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path(name), ROOT)}")


def reference_writer_tensors():
    """Edge cases for wasmgrad's reader, as the reference writer lays them out (it sorts by dtype, then name)."""
    return {
        "weight": torch.tensor([[1.5, -0.0, float("inf")], [float("-inf"), 3.4028234663852886e38, 1e-45]]),
        "labels": torch.tensor([0, 9, -1, 2147483647, -2147483648]),  # int64, as torch makes integer tensors
        "counts": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "empty": torch.zeros(0, 4),
        "scalar": torch.tensor(2.5),
        "__proto__": torch.ones(1),
    }


def write_reference_file():
    """reference_writer.safetensors, written by the `safetensors` package itself; kept as is when it is not installed."""
    try:
        from safetensors.torch import save as reference_save
        import safetensors
    except ImportError:
        print("safetensors package not installed: reference_writer.safetensors left as it is")
        return
    with open(path("reference_writer.safetensors"), "wb") as f:
        f.write(reference_save(reference_writer_tensors(), metadata={"format": "pt"}))
    print(f"wrote {os.path.relpath(path('reference_writer.safetensors'), ROOT)} with safetensors {safetensors.__version__}")


def write_torch():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(SEED)
    net = d2l_mlp().eval()
    x = first_test_images(BATCH)
    with torch.no_grad():
        y = net(x)
    metadata = {"format": "pt", "producer": SCRIPT, "torch": torch.__version__}
    with open(path("torch_mlp.safetensors"), "wb") as f:
        f.write(save_safetensors(net.state_dict(), metadata))
    print(f"wrote {os.path.relpath(path('torch_mlp.safetensors'), ROOT)}")
    # What we wrote must read back exactly, or the fixture would test the script instead of wasmgrad.
    back, _ = load_safetensors(open(path("torch_mlp.safetensors"), "rb").read())
    assert list(back) == list(net.state_dict()), list(back)
    assert all(torch.equal(back[k], v) for k, v in net.state_dict().items())
    reference = check_with_reference_reader(open(path("torch_mlp.safetensors"), "rb").read(), back)
    print(f"reference reader: {reference or 'not installed, skipped'}")
    write_json("torch_mlp_io.json", {
        "generator": {"torch": torch.__version__, "script": SCRIPT, "seed": SEED},
        "model": "d2l dropout MLP: Flatten, Linear(784,256), ReLU, Dropout(0.2), Linear(256,256), ReLU, "
                 "Dropout(0.5), Linear(256,10); eval mode",
        "input": tensor_json(x),
        "output": tensor_json(y),
    })
    write_reference_file()


def read_wasmgrad():
    file = path("wasmgrad_mlp.safetensors")
    data = open(file, "rb").read()
    tensors, metadata = load_safetensors(data)
    reference = check_with_reference_reader(data, tensors)
    print(f"reference reader: {reference or 'not installed, skipped'}")
    io = json.load(open(path("wasmgrad_mlp_io.json")))
    net = d2l_mlp()
    net.load_state_dict(tensors, strict=True)
    net.eval()
    with torch.no_grad():
        y = net(tensor_from_json(io["input"]))
    expected = tensor_from_json(io["output"])
    max_abs_diff = (y - expected).abs().max().item()
    matched = max_abs_diff <= TOLERANCE
    print(f"PyTorch {torch.__version__} on wasmgrad_mlp.safetensors: max |torch - wasmgrad| = {max_abs_diff:.3e} "
          f"({'within' if matched else 'OUTSIDE'} {TOLERANCE})")
    write_json("torch_read_wasmgrad.json", {
        "torch": torch.__version__,
        "script": SCRIPT,
        "file": "wasmgrad_mlp.safetensors",
        "sha256": hashlib.sha256(data).hexdigest(),
        "metadata": metadata,
        "keys": list(tensors),
        "load_state_dict": "strict=True",
        "reference_reader": reference,
        "max_abs_diff": max_abs_diff,
        "tolerance": TOLERANCE,
        "matched": matched,
    })
    return matched


def main(argv):
    step = argv[1] if len(argv) > 1 else "all"
    if step not in ("all", "write-torch", "read-wasmgrad"):
        sys.exit(f"usage: {argv[0]} [write-torch | read-wasmgrad]")
    if step in ("all", "write-torch"):
        write_torch()
    if step == "read-wasmgrad" or (step == "all" and os.path.exists(path("wasmgrad_mlp.safetensors"))):
        if not read_wasmgrad():
            sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
