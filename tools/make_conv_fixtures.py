#!/usr/bin/python3
"""PyTorch 1.13 reference values for wasmgrad's convolution family.

    /usr/bin/python3 tools/make_conv_fixtures.py

Writes test/fixtures/torch/conv.json (tests only read it; commit it) and
test/fixtures/safetensors/torch_cnn.safetensors + torch_cnn_io.json.

conv.json pins, for seeded inputs x and a seeded upstream gradient r (the loss
is (out * r).sum(), so every gradient is r pulled back):
  conv2d      stride, padding, dilation (pairs and numbers), with and without
              bias: the output and the gradients of input, weight and bias;
  max_pool2d / avg_pool2d (count_include_pad both ways): output, input gradient;
  batch_norm  BatchNorm1d ([N, C] and [N, C, L]) and BatchNorm2d with a
              non-trivial weight and bias, two training steps then eval: each
              step's output, input / weight / bias gradients, and the buffers
              running_mean, running_var, num_batches_tracked after it.
torch_cnn.* : a small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Conv2d,
AvgPool2d, Flatten, Linear) after one training step (so its running stats are
not the defaults), its state_dict as safetensors (num_batches_tracked as I64),
a fixed input and its eval-mode output.

Every tensor is {"shape": [...], "data": [...]}, the exact float32 values.
"""

import json
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_roundtrip import save_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def tj(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


def seeded(seed, *shape):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def conv_cases():
    cases = []
    configs = [
        dict(N=2, C=3, H=7, W=6, OC=4, k=[3, 2], stride=[2, 1], padding=[1, 2], dilation=[1, 2], bias=True),
        dict(N=1, C=2, H=5, W=5, OC=3, k=3, stride=1, padding=0, dilation=1, bias=False),
        dict(N=3, C=1, H=8, W=8, OC=6, k=5, stride=1, padding=2, dilation=1, bias=True),
        dict(N=2, C=4, H=9, W=7, OC=5, k=[2, 3], stride=[3, 2], padding=[0, 1], dilation=[2, 1], bias=True),
    ]
    for i, c in enumerate(configs):
        kh, kw = (c["k"], c["k"]) if isinstance(c["k"], int) else c["k"]
        x = seeded(100 + i, c["N"], c["C"], c["H"], c["W"]).requires_grad_()
        w = (seeded(200 + i, c["OC"], c["C"], kh, kw) * 0.3).requires_grad_()
        b = seeded(300 + i, c["OC"]).requires_grad_() if c["bias"] else None
        y = F.conv2d(x, w, b, stride=c["stride"], padding=c["padding"], dilation=c["dilation"])
        r = seeded(400 + i, *y.shape)
        (y * r).sum().backward()
        cases.append({"config": c, "x": tj(x), "weight": tj(w), "bias": tj(b) if b is not None else None, "r": tj(r),
                      "out": tj(y), "dx": tj(x.grad), "dweight": tj(w.grad), "dbias": tj(b.grad) if b is not None else None})
    return cases


def pool_cases():
    cases = []
    configs = [
        dict(k=2, stride=None, padding=0, H=8, W=8),
        dict(k=3, stride=2, padding=1, H=7, W=9),
        dict(k=[2, 3], stride=[1, 2], padding=[1, 1], H=5, W=6),
    ]
    for i, c in enumerate(configs):
        x = seeded(500 + i, 2, 3, c["H"], c["W"])
        for kind in ["max", "avg", "avg_exclude_pad"]:
            xi = x.clone().requires_grad_()
            if kind == "max":
                y = F.max_pool2d(xi, c["k"], c["stride"], c["padding"])
            else:
                y = F.avg_pool2d(xi, c["k"], c["stride"], c["padding"], count_include_pad=(kind == "avg"))
            r = seeded(600 + i, *y.shape)
            (y * r).sum().backward()
            cases.append({"kind": kind, "config": c, "x": tj(x), "r": tj(r), "out": tj(y), "dx": tj(xi.grad)})
    return cases


def bn_cases():
    cases = []
    for i, (cls, shape, momentum) in enumerate([
        (nn.BatchNorm2d, [4, 3, 5, 6], 0.1),
        (nn.BatchNorm1d, [6, 4], 0.3),
        (nn.BatchNorm1d, [3, 4, 5], 0.1),
    ]):
        C = shape[1]
        m = cls(C, momentum=momentum)
        with torch.no_grad():
            m.weight.copy_(seeded(700 + i, C) * 0.5 + 1)
            m.bias.copy_(seeded(710 + i, C))
        steps = []
        for s, training in enumerate([True, True, False]):
            m.train(training)
            x = (seeded(720 + 10 * i + s, *shape) * 2 + 0.5).requires_grad_()
            m.zero_grad()
            y = m(x)
            r = seeded(800 + 10 * i + s, *shape)
            (y * r).sum().backward()
            steps.append({"training": training, "x": tj(x), "r": tj(r), "out": tj(y), "dx": tj(x.grad),
                          "dweight": tj(m.weight.grad), "dbias": tj(m.bias.grad),
                          "running_mean": tj(m.running_mean), "running_var": tj(m.running_var),
                          "num_batches_tracked": int(m.num_batches_tracked)})
        cases.append({"module": cls.__name__, "num_features": C, "momentum": momentum,
                      "weight": tj(seeded(700 + i, C) * 0.5 + 1), "bias": tj(seeded(710 + i, C)), "steps": steps})
    return cases


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, bias=False), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 3))


def write_cnn():
    torch.manual_seed(0)
    net = small_cnn()
    x = seeded(900, 5, 1, 12, 12)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(x).square().mean().backward()
    opt.step()
    net.eval()
    with torch.no_grad():
        y = net(x)
    d = os.path.join(ROOT, "test", "fixtures", "safetensors")
    sd = net.state_dict()
    with open(os.path.join(d, "torch_cnn.safetensors"), "wb") as f:
        f.write(save_safetensors({k: v for k, v in sd.items()}))
    with open(os.path.join(d, "torch_cnn_io.json"), "w") as f:
        json.dump({"keys": list(sd.keys()), "input": tj(x), "output": tj(y)}, f)
        f.write("\n")


def main():
    torch.set_num_threads(1)
    payload = {"generator": {"torch": torch.__version__, "script": "tools/make_conv_fixtures.py"},
               "conv2d": conv_cases(), "pool": pool_cases(), "batch_norm": bn_cases()}
    with open(os.path.join(ROOT, "test", "fixtures", "torch", "conv.json"), "w") as f:
        json.dump(payload, f)
        f.write("\n")
    write_cnn()


if __name__ == "__main__":
    main()
