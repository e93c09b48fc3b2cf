#!/usr/bin/python3
"""PyTorch 1.13 reference values for issue 18's math ops, layers, losses and
gradient clipping (test/math-parity.test.ts reads them).

    /usr/bin/python3 tools/make_math_fixtures.py

It rewrites test/fixtures/torch/math.json; commit the output. Tests never
need torch.

Each entry of "cases" is one call: named float32 inputs (which require grad
where "grads" lists them), the call's options, its outputs, and the gradient
of sum(output * upstream) with respect to each float input. The test file
rebuilds the same call from the case's name, so names here and there match.
Tensors are {"shape": [...], "data": [...]} (row-major, exact float32 values),
int tensors {"shape", "data", "dtype": "int32"}.
"""

import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch", "math.json")
torch.manual_seed(18)


def tj(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "data": t.flatten().tolist(), "dtype": "int32"}
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


def uniform(low, high, *shape):
    return torch.rand(*shape) * (high - low) + low


def case(name, fn, inputs, opts=None, grad=True, frozen=()):
    """Runs fn(**inputs), records outputs and the gradients of every float input not in `frozen`."""
    leaves = {}
    for k, v in inputs.items():
        v = v.clone()
        if grad and v.dtype == torch.float32 and k not in frozen:
            v.requires_grad_(True)
        leaves[k] = v
    out = fn(**leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    entry = {"name": name, "inputs": {k: tj(v) for k, v in leaves.items()}, "opts": opts or {},
             "outputs": [tj(o) for o in outs]}
    first = outs[0]
    if grad and first.requires_grad:
        upstream = torch.randn(first.shape)
        (first * upstream).sum().backward()
        entry["upstream"] = tj(upstream)
        entry["grads"] = {k: tj(v.grad) if v.grad is not None else None
                          for k, v in leaves.items() if v.dtype == torch.float32 and k not in frozen}
    return entry


def ops_cases():
    x = uniform(-10, 10, 3, 4)
    huge = torch.tensor([1e5, -7.5e7, 4.2e8, 1e10, -3e20, 1e38, 3.4e38, 0.0])
    near = torch.tensor([[-1.0, -0.5, 0.0, 0.5], [0.75, 1.0, 2.0, -3.0]])
    ties = torch.tensor([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -1.0, -1.0], [2.0, -4.0, 0.0, -4.0]])
    m = uniform(-2, 2, 2, 3, 4)
    return [
        case("sin", lambda x: x.sin(), {"x": x}),
        case("cos", lambda x: x.cos(), {"x": x}),
        case("sin of large arguments", lambda x: x.sin(), {"x": huge}),
        case("cos of large arguments", lambda x: x.cos(), {"x": huge}),
        case("clamp(-0.5, 0.75), bounds included in the gradient", lambda x: x.clamp(-0.5, 0.75), {"x": near}),
        case("clamp(min=0.1)", lambda x: x.clamp(min=0.1), {"x": x}),
        case("clamp(max=-0.2)", lambda x: x.clamp(max=-0.2), {"x": x}),
        case("clamp with min > max gives max", lambda x: x.clamp(1.0, -1.0), {"x": near}),
        case("minimum and maximum split ties", lambda a, b: a.minimum(b) + 2 * a.maximum(b),
             {"a": ties, "b": torch.tensor([[1.0, 0.0, 3.0, -2.0], [0.5, 1.0, -1.0, 0.0], [2.0, -4.0, 1.0, -5.0]])}),
        case("min(dim=1)", lambda x: tuple(x.min(dim=1)), {"x": ties}),
        case("min(dim=0, keepdim)", lambda x: tuple(x.min(dim=0, keepdim=True)), {"x": ties}),
        case("max(dim=1)", lambda x: tuple(x.max(dim=1)), {"x": ties}),
        case("min() shares the gradient among ties", lambda x: x.min(), {"x": ties}),
        case("std()", lambda x: x.std(), {"x": m}),
        case("std(dim=1)", lambda x: x.std(dim=1), {"x": m}),
        case("std(dim=0, keepdim)", lambda x: x.std(dim=0, keepdim=True), {"x": m}),
        case("var()", lambda x: x.var(), {"x": m}),
        case("var(dim=[0, 2])", lambda x: x.var(dim=[0, 2]), {"x": m}),
        case("var(dim=-1, unbiased=False)", lambda x: x.var(dim=-1, unbiased=False), {"x": m}),
        case("var(dim=1, correction=2)", lambda x: torch.var(x, dim=1, correction=2), {"x": m}),
        case("softmax(dim=0)", lambda x: x.softmax(0), {"x": m}),
        case("softmax(dim=1)", lambda x: x.softmax(1), {"x": m}),
        case("softmax(dim=-1) of large logits", lambda x: x.softmax(-1), {"x": m * 1000}),
        case("log_softmax(dim=0)", lambda x: x.log_softmax(0), {"x": m}),
        case("log_softmax(dim=1)", lambda x: x.log_softmax(1), {"x": m}),
        case("log_softmax(dim=-1)", lambda x: x.log_softmax(-1), {"x": m}),
        case("leaky_relu(0.01)", lambda x: F.leaky_relu(x, 0.01), {"x": x}),
        case("leaky_relu(0.2)", lambda x: F.leaky_relu(x, 0.2), {"x": near}),
        case("gelu", lambda x: F.gelu(x), {"x": torch.cat([x.flatten(), near.flatten(), torch.tensor([-12.0, 12.0])])}),
        case("gelu(approximate=tanh)", lambda x: F.gelu(x, approximate="tanh"),
             {"x": torch.cat([x.flatten(), near.flatten(), torch.tensor([-12.0, 12.0])])}),
        case("tanh", lambda x: nn.Tanh()(x), {"x": near}),
        case("sigmoid", lambda x: nn.Sigmoid()(x), {"x": near}),
    ]


def creation_cases():
    return [
        case("linspace(-1, 1, 5)", lambda: torch.linspace(-1, 1, 5), {}, {"start": -1, "end": 1, "steps": 5}),
        case("linspace(0, 1, 10)", lambda: torch.linspace(0, 1, 10), {}, {"start": 0, "end": 1, "steps": 10}),
        case("linspace(-2.5, 7.1, 33)", lambda: torch.linspace(-2.5, 7.1, 33), {}, {"start": -2.5, "end": 7.1, "steps": 33}),
        case("linspace(3, 3, 1)", lambda: torch.linspace(3, 3, 1), {}, {"start": 3, "end": 3, "steps": 1}),
        case("linspace(5, -5, 0)", lambda: torch.linspace(5, -5, 0), {}, {"start": 5, "end": -5, "steps": 0}),
        case("eye(3)", lambda: torch.eye(3), {}, {"n": 3}),
        case("eye(2, 4)", lambda: torch.eye(2, 4), {}, {"n": 2, "m": 4}),
        case("one_hot(t)", lambda t: F.one_hot(t), {"t": torch.tensor([0, 2, 1, 2])}),
        case("one_hot(t, 5)", lambda t: F.one_hot(t, 5), {"t": torch.tensor([[0, 4], [3, 3]])}),
    ]


def loss_cases():
    logp = F.log_softmax(uniform(-3, 3, 5, 4), 1)
    y = torch.tensor([1, 0, 3, 3, 2])
    y_ignored = torch.tensor([1, -100, 3, 3, -100])
    w = torch.tensor([0.5, 2.0, 1.0, 0.25])
    kd = F.log_softmax(uniform(-3, 3, 2, 3, 4), 1)
    ky = torch.tensor([[0, 1, 2, 2], [1, 1, 0, 2]])
    pred = uniform(-2, 2, 3, 4)
    tgt = uniform(-2, 2, 3, 4)
    probs = torch.cat([uniform(0.01, 0.99, 10), torch.tensor([0.0, 1.0])]).view(3, 4)
    labels = torch.cat([(torch.rand(10) > 0.5).float(), torch.tensor([1.0, 0.0])]).view(3, 4)
    soft = uniform(0, 1, 3, 4)
    inner = uniform(0.01, 0.99, 3, 4)
    logits = torch.cat([uniform(-4, 4, 9), torch.tensor([0.0, 30.0, -30.0])]).view(3, 4)
    bw = uniform(0.5, 2, 3, 4)
    pw = torch.tensor([0.5, 1.0, 2.0, 3.0])
    cases = []
    for r in ["mean", "sum", "none"]:
        cases += [
            case(f"nll_loss {r}", lambda x, t, r=r: F.nll_loss(x, t, reduction=r), {"x": logp, "t": y}, {"reduction": r}),
            case(f"nll_loss {r} with weight and ignore_index",
                 lambda x, t, w, r=r: F.nll_loss(x, t, weight=w, reduction=r),
                 {"x": logp, "t": y_ignored, "w": w}, {"reduction": r}, frozen=("w",)),
            case(f"nll_loss {r} over [N, C, d]", lambda x, t, r=r: F.nll_loss(x, t, reduction=r), {"x": kd, "t": ky}, {"reduction": r}),
            case(f"l1_loss {r}", lambda a, b, r=r: F.l1_loss(a, b, reduction=r), {"a": pred, "b": tgt}, {"reduction": r}),
            case(f"binary_cross_entropy {r}, 0 and 1 included (no target gradient: it is infinite there)",
                 lambda x, t, r=r: F.binary_cross_entropy(x, t, reduction=r), {"x": probs, "t": labels}, {"reduction": r},
                 frozen=("t",)),
            case(f"binary_cross_entropy {r} with weight and soft targets",
                 lambda x, t, w, r=r: F.binary_cross_entropy(x, t, weight=w, reduction=r),
                 {"x": inner, "t": soft, "w": bw}, {"reduction": r}, frozen=("w",)),
            case(f"binary_cross_entropy_with_logits {r}, ±30 and 0 included",
                 lambda x, t, r=r: F.binary_cross_entropy_with_logits(x, t, reduction=r), {"x": logits, "t": labels}, {"reduction": r}),
            case(f"binary_cross_entropy_with_logits {r} with weight and pos_weight",
                 lambda x, t, w, p, r=r: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=p, reduction=r),
                 {"x": logits, "t": soft, "w": bw, "p": pw}, {"reduction": r}, frozen=("w", "p")),
        ]
    return cases


def clip_cases():
    out = []
    grads = [uniform(-1, 1, 4, 3), uniform(-3, 3, 5), uniform(-0.1, 0.1, 2, 2)]
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, math.inf), (2.0, 3.0)]:
        params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        out.append({"max_norm": max_norm, "norm_type": "inf" if norm_type == math.inf else norm_type,
                    "grads": [tj(g) for g in grads], "total": float(total), "clipped": [tj(p.grad) for p in params]})
    params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    nn.utils.clip_grad_value_(params, 0.5)
    value = {"clip_value": 0.5, "grads": [tj(g) for g in grads], "clipped": [tj(p.grad) for p in params]}
    return {"norm": out, "value": value}


def gains():
    names = ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    out = {n: nn.init.calculate_gain(n) for n in names}
    out["leaky_relu 0.2"] = nn.init.calculate_gain("leaky_relu", 0.2)
    return out


def main():
    payload = {
        "generator": {"torch": torch.__version__, "script": "tools/make_math_fixtures.py"},
        "cases": ops_cases() + creation_cases() + loss_cases(),
        "clip": clip_cases(),
        "gains": gains(),
    }
    text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(OUT)} ({len(text) + 1} bytes, {len(payload['cases'])} cases)")


if __name__ == "__main__":
    main()
