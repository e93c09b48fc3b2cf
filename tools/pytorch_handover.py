#!/usr/bin/python3
"""Hand a wasmgrad training run to PyTorch and take a PyTorch run back.

A wasmgrad checkpoint (`io.saveCheckpoint`) is one safetensors file. This
module reads it into a `torch.nn` model built from its layer list and into
`torch.optim.SGD`, `Adam` or `AdamW` with their state, and writes a PyTorch
run back as a checkpoint `io.loadCheckpoint` resumes. It needs only torch
(the `safetensors` package is not required: the format is parsed here).

Layout of a checkpoint, and what each part becomes in PyTorch:

  tensor "model.<name>"                  model.state_dict()[<name>]
  tensor "optim.state.<i>.<key>"         optimizer.state_dict()["state"][i][<key_snake>]
         momentumBuffer / expAvg / expAvgSq / maxExpAvgSq
                                         momentum_buffer / exp_avg / exp_avg_sq / max_exp_avg_sq
  metadata "format"                      "wasmgrad-checkpoint/1"
  metadata "layers"  (JSON)              {"type": "Sequential", "kwargs": {}, "children": [["0", {"type":
                                         "Flatten", "kwargs": {"start_dim": 1, "end_dim": -1}}], ...]}:
                                         torch.nn.<type>(**kwargs), children added under their names
  metadata "optimizer" (JSON)
     "kind"                              the torch.optim class name
     "paramGroups"[g]                    optimizer.param_groups[g]: camelCase keys in snake_case
                                         (weightDecay -> weight_decay); "params" are indices i
     "state"[i]["step"]                  state[i]["step"] (a float tensor where torch 1.13 keeps one)
     "paramNames"[i]                     the model parameter that index i is ("1.weight")
  metadata "rng" (JSON)                  wasmgrad's generator (Philox key and offset); torch has its own
                                         generator, so it is carried through unchanged
  metadata "user.<key>"                  your strings, carried through unchanged

Use as a library (see examples/ddp_from_wasmgrad.py):

    from pytorch_handover import load_checkpoint, save_checkpoint
    model, optimizer, ckpt = load_checkpoint("run.safetensors")
    ...train...
    save_checkpoint("back.safetensors", model, optimizer, like=ckpt)

or from the command line:

    /usr/bin/python3 tools/pytorch_handover.py inspect run.safetensors
    /usr/bin/python3 tools/pytorch_handover.py train run.safetensors --batches b.safetensors --steps 1 --out next.safetensors

(`train` takes CrossEntropyLoss steps on the batches x.0, y.0, x.1, ... of a
safetensors file, cycling through them, and writes the run back for wasmgrad.)
"""

import argparse
import json
import re
import struct
import sys

import torch
from torch import nn

FORMAT = "wasmgrad-checkpoint/1"
MODEL_PREFIX = "model."
OPTIM_PREFIX = "optim.state."
USER_PREFIX = "user."
MAX_HEADER_BYTES = 100_000_000

DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "F64": torch.float64}
ITEM_BYTES = {"F32": 4, "I32": 4, "I64": 8, "F64": 8}
NAMES = {v: k for k, v in DTYPES.items()}

# wasmgrad's hyperparameters per optimizer, in PyTorch's spelling: what a
# checkpoint written back may hold (torch-only keys such as foreach,
# differentiable, capturable, fused or a scheduler's initial_lr are dropped).
WASMGRAD_HYPER = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
    "Adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay", "maximize"],
}
TORCH_ONLY_HYPER = {"foreach", "differentiable", "capturable", "fused", "initial_lr"}
# torch 1.13 keeps "step" as a float tensor for these, as a Python int for the others.
TENSOR_STEP = {"Adam", "AdamW", "Adagrad", "Adamax", "ASGD", "NAdam", "RAdam"}
# The layers build_model / describe_layers know, with the constructor arguments recorded.
LAYER_KWARGS = {
    "Sequential": lambda m: {},
    "Linear": lambda m: {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None},
    "Dropout": lambda m: {"p": m.p},
    "Flatten": lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim},
    "ReLU": lambda m: {},
    "Tanh": lambda m: {},
    "Sigmoid": lambda m: {},
    "Identity": lambda m: {},
}


class HandoverError(ValueError):
    """A checkpoint that cannot be handed over, with the reason."""


def snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


# ---- safetensors ----------------------------------------------------------------

def read_safetensors(data):
    """(tensors in storage order, metadata dict) from safetensors bytes."""
    if len(data) < 8:
        raise HandoverError("file too short for the safetensors header length")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise HandoverError(f"header length {n} does not fit the {len(data)}-byte file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        numel = 1
        for d in info["shape"]:
            numel *= d
        if info["dtype"] not in DTYPES:
            raise HandoverError(f"tensor {name!r} has dtype {info['dtype']}, which this reader does not handle")
        if begin != covered or numel * ITEM_BYTES[info["dtype"]] != end - begin:
            raise HandoverError(f"tensor {name!r}: data_offsets {info['data_offsets']} do not fit its shape or leave a hole")
        covered = end
        raw = bytearray(body[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"]).clone()
    if covered != len(body):
        raise HandoverError(f"tensors cover {covered} of {len(body)} data bytes")
    return tensors, metadata


def write_safetensors(tensors, metadata):
    """Safetensors bytes, tensors (a list of (name, tensor)) in the order given."""
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        if t.dtype not in NAMES:
            raise HandoverError(f"tensor {name!r} has dtype {t.dtype}, which a wasmgrad checkpoint cannot hold")
        data = t.numpy().tobytes()  # little-endian on every host torch runs on here
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


# ---- layers -----------------------------------------------------------------------

def build_model(spec):
    """The torch.nn module a "layers" spec describes."""
    kind = spec.get("type")
    if kind not in LAYER_KWARGS or "kwargs" not in spec:
        raise HandoverError(
            f"cannot build layer {kind!r} from the checkpoint (known: {', '.join(LAYER_KWARGS)}); "
            "build the torch model yourself and pass it: load_checkpoint(path, model=...)")
    module = getattr(nn, kind)(**spec["kwargs"])
    for name, child in spec.get("children", []):
        module.add_module(name, build_model(child))
    return module


def describe_layers(module):
    """The "layers" spec of a torch model (the inverse of build_model); None for a layer it does not know."""
    kind = type(module).__name__
    if kind not in LAYER_KWARGS or type(module) is not getattr(nn, kind):
        return None
    spec = {"type": kind, "kwargs": LAYER_KWARGS[kind](module)}
    children = list(module.named_children())
    if children:
        spec["children"] = []
        for name, child in children:
            child_spec = describe_layers(child)
            if child_spec is None:
                return None
            spec["children"].append([name, child_spec])
    return spec


def unwrap(model):
    """The module inside DistributedDataParallel / DataParallel."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


# ---- wasmgrad -> PyTorch --------------------------------------------------------------

class Checkpoint:
    """A wasmgrad checkpoint's parts: model tensors, optimizer tensors, metadata."""

    def __init__(self, tensors, metadata):
        if metadata.get("format") != FORMAT:
            raise HandoverError(f"not a wasmgrad checkpoint: metadata format is {metadata.get('format')!r}, expected {FORMAT!r}")
        self.metadata = metadata
        self.model_state = {k[len(MODEL_PREFIX):]: t for k, t in tensors.items() if k.startswith(MODEL_PREFIX)}
        self.optim_tensors = {k[len(OPTIM_PREFIX):]: t for k, t in tensors.items() if k.startswith(OPTIM_PREFIX)}
        self.layers = json.loads(metadata["layers"]) if "layers" in metadata else None
        self.optimizer = json.loads(metadata["optimizer"]) if "optimizer" in metadata else None
        self.user = {k[len(USER_PREFIX):]: v for k, v in metadata.items() if k.startswith(USER_PREFIX)}

    @classmethod
    def read(cls, path):
        with open(path, "rb") as f:
            return cls(*read_safetensors(f.read()))


def torch_optimizer_state(ckpt, optimizer_kind):
    """The checkpoint's optimizer state as torch's optimizer.state_dict()["state"]."""
    saved = ckpt.optimizer
    state = {}
    for index, scalars in saved.get("state", {}).items():
        for key, value in scalars.items():
            if key == "step" and optimizer_kind in TENSOR_STEP:
                value = torch.tensor(float(value))
            state.setdefault(int(index), {})[snake(key)] = value
    for name, t in ckpt.optim_tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[snake(key)] = t
    return state


def torch_group(kind, group):
    """A wasmgrad parameter group's hyperparameters in torch's spelling."""
    out = {}
    for key, value in group.items():
        if key == "params":
            continue
        if key == "l1":
            if value != 0:
                raise HandoverError(f"parameter group has l1 = {value}: torch.optim.{kind} has no L1 penalty; add it to the loss instead")
            continue
        out[snake(key)] = tuple(value) if key == "betas" else value
    return out


def load_checkpoint(path_or_ckpt, model=None, optimizer=None):
    """Loads a wasmgrad checkpoint into torch: returns (model, optimizer or None, Checkpoint).

    model: built from the checkpoint's layer list when not given. optimizer:
    torch.optim.<kind> with the checkpoint's parameter groups when not given; a
    given one must list the parameters in the same order as wasmgrad's groups.
    """
    ckpt = path_or_ckpt if isinstance(path_or_ckpt, Checkpoint) else Checkpoint.read(path_or_ckpt)
    if model is None:
        if ckpt.layers is None:
            raise HandoverError("the checkpoint has no layer list (written before it was added); pass model=")
        model = build_model(ckpt.layers)
    inner = unwrap(model)
    inner.load_state_dict(ckpt.model_state, strict=True)
    if ckpt.optimizer is None:
        if optimizer is not None:
            raise HandoverError("the checkpoint holds no optimizer state, but an optimizer was given to restore")
        return model, None, ckpt

    saved = ckpt.optimizer
    kind = saved["kind"]
    named = dict(inner.named_parameters())
    names = saved.get("paramNames")
    if names is None:
        raise HandoverError("the checkpoint's optimizer has no paramNames (written before they were added); cannot tell which parameter each state belongs to")
    for name in names:
        if name not in named:
            raise HandoverError(f"the optimizer's parameter {name!r} is not a parameter of the model")
    if optimizer is None:
        groups = [{"params": [named[names[i]] for i in g["params"]], **torch_group(kind, g)} for g in saved["paramGroups"]]
        optimizer = getattr(torch.optim, kind)(groups)
    else:
        if type(optimizer).__name__ != kind:
            raise HandoverError(f"the checkpoint holds {kind} state, but the optimizer given is {type(optimizer).__name__}")
        by_id = {id(p): n for n, p in named.items()}
        own = [by_id.get(id(p)) for g in optimizer.param_groups for p in g["params"]]
        if own != names:
            raise HandoverError(f"the optimizer given lists the parameters as {own}, the checkpoint as {names}")

    own_sd = optimizer.state_dict()
    if len(own_sd["param_groups"]) != len(saved["paramGroups"]):
        raise HandoverError(f"the checkpoint has {len(saved['paramGroups'])} parameter groups, the optimizer {len(own_sd['param_groups'])}")
    groups = [{**own, **torch_group(kind, theirs), "params": own["params"]}
              for own, theirs in zip(own_sd["param_groups"], saved["paramGroups"])]
    optimizer.load_state_dict({"state": torch_optimizer_state(ckpt, kind), "param_groups": groups})
    return model, optimizer, ckpt


# ---- PyTorch -> wasmgrad ---------------------------------------------------------------

def default_rng(seed=0):
    """wasmgrad's generator after manualSeed(seed)."""
    return {"seed": [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF], "offset": 0}


def wasmgrad_optimizer(optimizer, param_names):
    """(metadata JSON object, [(tensor name, tensor)]) for a torch optimizer."""
    kind = type(optimizer).__name__
    sd = optimizer.state_dict()
    allowed = WASMGRAD_HYPER.get(kind)
    groups = []
    for g in sd["param_groups"]:
        group = {}
        for key, value in g.items():
            if key == "params" or (allowed is not None and key not in allowed) or key in TORCH_ONLY_HYPER:
                continue
            group[camel(key)] = list(value) if isinstance(value, tuple) else value
        group["params"] = list(g["params"])
        groups.append(group)
    scalars = {}
    tensors = []
    for index in sorted(sd["state"]):
        for key, value in sd["state"][index].items():
            if value is None:  # SGD without momentum keeps momentum_buffer = None
                continue
            if key == "step":
                scalars.setdefault(str(index), {})["step"] = int(round(float(value)))
            elif torch.is_tensor(value):
                tensors.append((f"{OPTIM_PREFIX}{index}.{camel(key)}", value.to(torch.float32)))
            else:
                scalars.setdefault(str(index), {})[camel(key)] = value
    return {"kind": kind, "paramGroups": groups, "state": scalars, "paramNames": param_names}, tensors


def save_checkpoint(path, model, optimizer=None, like=None, rng=None, metadata=None):
    """Writes a checkpoint wasmgrad's io.loadCheckpoint resumes.

    like: the Checkpoint this run came from: its layer list, wasmgrad generator
    state and user strings are carried over. rng: a wasmgrad generator state
    ({"seed": [lo, hi], "offset": n}) to use instead (default: manualSeed(0)'s).
    metadata: user strings (override those of `like`).
    """
    inner = unwrap(model)
    tensors = [(MODEL_PREFIX + k, t) for k, t in inner.state_dict().items()]
    layers = describe_layers(inner) or (like.layers if like is not None else None)
    if rng is None:
        rng = json.loads(like.metadata["rng"]) if like is not None and "rng" in like.metadata else default_rng()
    meta = {"format": FORMAT, "rng": json.dumps(rng)}
    if layers is not None:
        meta["layers"] = json.dumps(layers)
    if optimizer is not None:
        by_id = {id(p): n for n, p in inner.named_parameters()}
        names = [by_id.get(id(p)) for g in optimizer.param_groups for p in g["params"]]
        optim_meta, optim_tensors = wasmgrad_optimizer(optimizer, names)
        meta["optimizer"] = json.dumps(optim_meta)
        tensors += optim_tensors
    user = dict(like.user) if like is not None else {}
    user.update(metadata or {})
    for key, value in user.items():
        meta[USER_PREFIX + key] = str(value)
    data = write_safetensors(tensors, meta)
    with open(path, "wb") as f:
        f.write(data)


# ---- command line ------------------------------------------------------------------------

def train_steps(model, optimizer, batches, steps, after_step=None):
    """`steps` training steps with CrossEntropyLoss on the (x, y) batches, cycling through them."""
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for i in range(steps):
        x, y = batches[i % len(batches)]
        optimizer.zero_grad()
        loss_fn(model(x), y.long()).backward()
        optimizer.step()
        if after_step is not None:
            after_step(i + 1)


def read_batches(path):
    """Batches from a safetensors file of x.0, y.0, x.1, y.1, ... (float32 inputs, integer labels)."""
    with open(path, "rb") as f:
        tensors, _ = read_safetensors(f.read())
    count = sum(1 for k in tensors if k.startswith("x."))
    if count == 0:
        raise HandoverError(f"{path} holds no batches (tensors named x.0, y.0, ...)")
    return [(tensors[f"x.{i}"], tensors[f"y.{i}"]) for i in range(count)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("inspect", help="print the torch model and optimizer a checkpoint becomes")
    show.add_argument("checkpoint")
    train = sub.add_parser("train", help="continue a checkpoint in PyTorch for some steps on given batches")
    train.add_argument("checkpoint")
    train.add_argument("--batches", required=True, help="safetensors file of x.0, y.0, x.1, y.1, ...")
    train.add_argument("--steps", type=int, default=1)
    train.add_argument("--out", required=True, help="the checkpoint to write for wasmgrad")
    train.add_argument("--save-after", nargs=2, action="append", default=[], metavar=("STEPS", "PATH"),
                       help="also write a checkpoint after this many steps (repeatable)")
    args = parser.parse_args(argv)
    try:
        model, optimizer, ckpt = load_checkpoint(args.checkpoint)
        if args.command == "inspect":
            print(model)
            print(optimizer)
            if ckpt.optimizer is not None:
                steps = sorted({s.get("step") for s in ckpt.optimizer.get("state", {}).values()} - {None})
                print("steps per parameter:", steps or "none kept by this optimizer")
            return 0
        if optimizer is None:
            raise HandoverError("the checkpoint holds no optimizer to continue training with")
        extra = {int(n): path for n, path in args.save_after}
        save_extra = lambda n: extra.get(n) and save_checkpoint(extra[n], model, optimizer, like=ckpt)
        train_steps(model, optimizer, read_batches(args.batches), args.steps, save_extra)
        save_checkpoint(args.out, model, optimizer, like=ckpt)
        return 0
    except (HandoverError, OSError) as error:
        print(f"pytorch_handover: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
