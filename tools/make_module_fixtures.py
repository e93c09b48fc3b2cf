#!/usr/bin/python3
"""PyTorch 1.13's names and reprs for nn.Module trees that test/module-tree.test.ts rebuilds.

Run with Debian's interpreter, which has torch 1.13:

    /usr/bin/python3 tools/make_module_fixtures.py

It rewrites test/fixtures/torch/modules.json: for each model, repr(model), the
keys of state_dict() in order, and the names named_parameters(),
named_buffers(), named_modules() and named_children() give. Tests only read
the JSON; commit it.
"""

import json
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch", "modules.json")


def d2l_mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10))


class DropoutNet(nn.Module):
    """d2l's dropout-from-scratch Net: layers assigned in __init__."""

    def __init__(self, num_inputs=784, num_outputs=10, num_hiddens1=256, num_hiddens2=256, is_training=True):
        super().__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()


class Mixed(nn.Module):
    """Fields of every kind: modules, a ModuleList, a Parameter, persistent and non-persistent buffers."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Dropout(0.5)])
        self.w = nn.Parameter(torch.zeros(2))
        self.register_buffer("running", torch.zeros(2))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)
        self.seq = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))


class Shared(nn.Module):
    """One Linear under two names: listed once by named_*, twice by state_dict."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(2, 2)
        self.dec = self.enc
        self.head = nn.Linear(2, 1)


class Empty(nn.Module):
    """Registered slots holding None: skipped by state_dict, printed as None."""

    def __init__(self):
        super().__init__()
        self.register_parameter("p", None)
        self.register_buffer("b", None)
        self.register_module("m", None)
        self.out = nn.Linear(1, 1)


def nested():
    return nn.Sequential(
        nn.Sequential(nn.Linear(2, 3), nn.ReLU()),
        nn.ModuleList([nn.Linear(3, 3), nn.Flatten(0, -1)]),
        nn.Dropout(0.0))


MODELS = {
    "d2l_mlp": d2l_mlp,
    "d2l_dropout_net": DropoutNet,
    "weight_decay_linear": lambda: nn.Sequential(nn.Linear(200, 1)),
    "mixed": Mixed,
    "shared": Shared,
    "empty_slots": Empty,
    "nested": nested,
    "module_list": lambda: nn.ModuleList(),
}


def describe(model):
    return {
        "repr": repr(model),
        "state_dict": list(model.state_dict().keys()),
        "parameters": [n for n, _ in model.named_parameters()],
        "buffers": [n for n, _ in model.named_buffers()],
        "modules": [n for n, _ in model.named_modules()],
        "children": [n for n, _ in model.named_children()],
    }


def main():
    out = {"generator": "tools/make_module_fixtures.py", "torch": torch.__version__}
    out["models"] = {name: describe(make()) for name, make in MODELS.items()}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
