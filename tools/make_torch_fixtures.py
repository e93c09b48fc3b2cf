#!/usr/bin/python3
"""PyTorch 1.13 reference values that wasmgrad's parity tests compare against.

Run with Debian's interpreter, which has torch 1.13 (the first python3 on PATH
may not):

    /usr/bin/python3 tools/make_torch_fixtures.py

It rewrites test/fixtures/torch/*.json. Tests and CI only read the JSON, so
PyTorch is needed solely to regenerate them; commit the outputs.

What each file pins:
  mlp_sgd.json    a 12-8-8-5 ReLU MLP: initial parameters, logits, mean
                  cross-entropy, parameter gradients, and 6-step SGD
                  trajectories (nesterov with per-group weight decay; plain
                  momentum with dampening and weight decay).
  mlp_adam.json   the same model and batch under Adam: plain, amsgrad, and
                  amsgrad with beta2=0.9 (see AMSGRAD_SENSITIVE_BETAS).
  mlp_adamw.json  the same under AdamW (decoupled weight decay), same variants.
  losses.json     CrossEntropyLoss and MSELoss for each reduction, including a
                  row of +/-1e4 logits, with input gradients; d2l squared_loss.
  ops.json        composite autograd expressions with broadcasting: output and
                  the gradient of every input.

Every tensor is {"shape": [...], "data": [...]} with data flattened row-major
and written as the exact float32 values (as Python floats), so a reader can
compare bit-for-bit or with any tolerance it chooses.
"""

import json
import os
import sys

import torch
from torch import nn

SCRIPT = "tools/make_torch_fixtures.py"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch")
TRAJECTORY_STEPS = 6
# Settings that only choose a PyTorch implementation strategy; they do not
# change the mathematics a reader needs to reproduce.
IMPLEMENTATION_ONLY_OPTIONS = {"params", "foreach", "differentiable", "capturable", "fused"}


def tensor_json(t):
    t = t.detach()
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


def named_tensors(pairs):
    return [[name, tensor_json(t)] for name, t in pairs]


def generator_info():
    return {"torch": torch.__version__, "script": SCRIPT}


def write_fixture(filename, payload):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, filename)
    # allow_nan=False: NaN/Infinity are not JSON, and a non-finite reference
    # value would mean the fixture itself is broken.
    text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(path)} ({len(text) + 1} bytes)")


# --------------------------------------------------------------------------
# MLP trajectories

MLP_SEED = 0
MLP_ARCHITECTURE = "Sequential(Flatten(), Linear(12, 8), ReLU(), Linear(8, 8), ReLU(), Linear(8, 5))"


def make_mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 5)
    )


def mlp_problem():
    """Model, batch and labels, all drawn from one seeded stream in a fixed order."""
    torch.manual_seed(MLP_SEED)
    model = make_mlp()
    inputs = torch.randn(6, 3, 4)
    labels = torch.randint(0, 5, (6,))
    return model, inputs, labels


def group_settings(group, names_by_param):
    settings = {k: v for k, v in group.items() if k not in IMPLEMENTATION_ONLY_OPTIONS}
    if "betas" in settings:
        settings["betas"] = list(settings["betas"])
    return {"params": [names_by_param[p] for p in group["params"]], **settings}


def run_trajectory(variant_name, make_optimizer, initial_state, inputs, labels):
    model = make_mlp()
    model.load_state_dict(initial_state)
    names_by_param = {p: name for name, p in model.named_parameters()}
    optimizer = make_optimizer(model)
    optimizer_json = {
        "name": type(optimizer).__name__,
        "defaults": {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in optimizer.defaults.items() if k not in IMPLEMENTATION_ONLY_OPTIONS},
        # param_groups after construction: every group's settings with the
        # defaults filled in, so a reader never has to know PyTorch's defaults.
        "groups": [group_settings(g, names_by_param) for g in optimizer.param_groups],
    }
    loss_fn = nn.CrossEntropyLoss()
    steps = []
    for step in range(1, TRAJECTORY_STEPS + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        steps.append({
            "step": step,
            "loss": loss.item(),
            "params": named_tensors(model.named_parameters()),
        })
    return {"name": variant_name, "optimizer": optimizer_json, "steps": steps}


def mlp_fixture(description, variants):
    model, inputs, labels = mlp_problem()
    initial_state = {k: v.clone() for k, v in model.state_dict().items()}
    logits = model(inputs)
    loss = nn.CrossEntropyLoss()(logits, labels)
    loss.backward()
    return {
        "generator": generator_info(),
        "description": description,
        "seed": MLP_SEED,
        "architecture": MLP_ARCHITECTURE,
        "loss_fn": "CrossEntropyLoss(reduction='mean')",
        "input": tensor_json(inputs),
        "labels": labels.tolist(),
        "initial_state": named_tensors(initial_state.items()),
        "logits": tensor_json(logits),
        "loss": loss.item(),
        "grads": named_tensors((name, p.grad) for name, p in model.named_parameters()),
        "trajectories": [
            run_trajectory(name, make_optimizer, initial_state, inputs, labels)
            for name, make_optimizer in variants
        ],
    }


def sgd_nesterov_split_decay(model):
    weights = [p for p in model.parameters() if p.ndim > 1]
    biases = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": weights, "weight_decay": 1e-2}, {"params": biases}],
        lr=0.1, momentum=0.9, nesterov=True,
    )


def sgd_dampened(model):
    return torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=False,
        weight_decay=1e-3, maximize=False,
    )


def adam(amsgrad, betas=(0.9, 0.999)):
    return lambda model: torch.optim.Adam(
        model.parameters(), lr=1e-2, betas=betas, eps=1e-8, weight_decay=1e-2, amsgrad=amsgrad
    )


def adamw(amsgrad, betas=(0.9, 0.999)):
    return lambda model: torch.optim.AdamW(
        model.parameters(), lr=1e-2, betas=betas, eps=1e-8, weight_decay=1e-1, amsgrad=amsgrad
    )


# With beta2 = 0.999 the second moment only grows during 6 steps, so amsgrad's
# running max hardly ever binds: ignoring amsgrad moves parameters by < 3e-5,
# inside a float32 test tolerance. With beta2 = 0.9 it moves them by ~3e-3.
AMSGRAD_SENSITIVE_BETAS = (0.9, 0.9)


# --------------------------------------------------------------------------
# Losses

def backward_for(output, reduction, upstream):
    """A scalar loss backpropagates 1; an unreduced one needs an upstream gradient."""
    if reduction == "none":
        output.backward(upstream)
    else:
        output.backward()


def losses_fixture():
    torch.manual_seed(1)

    ce_logits = torch.randn(7, 5) * 2
    # A row that overflows exp() in float32 unless log-softmax subtracts the
    # row max; its label sits on a -1e4 logit so the loss itself is ~2e4.
    ce_logits[3] = torch.tensor([1e4, -1e4, 1e4, 0.0, -1e4])
    ce_labels = torch.randint(0, 5, (7,))
    ce_labels[3] = 1
    ce_upstream = torch.randn(7)
    cross_entropy_cases = []
    for reduction in ("mean", "sum", "none"):
        logits = ce_logits.clone().requires_grad_(True)
        output = nn.CrossEntropyLoss(reduction=reduction)(logits, ce_labels)
        backward_for(output, reduction, ce_upstream)
        cross_entropy_cases.append({
            "reduction": reduction,
            "output": tensor_json(output),
            "grads": {"logits": tensor_json(logits.grad)},
        })

    mse_input = torch.randn(4, 3)
    mse_target = torch.randn(4, 3)
    mse_upstream = torch.randn(4, 3)
    mse_cases = []
    for reduction in ("mean", "sum", "none"):
        inp = mse_input.clone().requires_grad_(True)
        target = mse_target.clone().requires_grad_(True)
        output = nn.MSELoss(reduction=reduction)(inp, target)
        backward_for(output, reduction, mse_upstream)
        mse_cases.append({
            "reduction": reduction,
            "output": tensor_json(output),
            "grads": {"input": tensor_json(inp.grad), "target": tensor_json(target.grad)},
        })

    # d2l's linear-regression loss: y arrives as a vector [n] while y_hat is
    # [n, 1]; without the reshape, broadcasting would silently produce [n, n].
    sq_y_hat = torch.randn(5, 1)
    sq_y = torch.randn(5)
    squared_cases = []
    for reduction in ("sum", "mean"):
        y_hat = sq_y_hat.clone().requires_grad_(True)
        y = sq_y.clone().requires_grad_(True)
        per_example = (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
        reduced = per_example.sum() if reduction == "sum" else per_example.mean()
        reduced.backward()
        squared_cases.append({
            "reduction": reduction,
            "per_example": tensor_json(per_example),
            "output": tensor_json(reduced),
            "grads": {"y_hat": tensor_json(y_hat.grad), "y": tensor_json(y.grad)},
        })

    return {
        "generator": generator_info(),
        "cross_entropy": {
            "module": "nn.CrossEntropyLoss(reduction=...)(logits, labels)",
            "logits": tensor_json(ce_logits),
            "labels": ce_labels.tolist(),
            "upstream_for_none": tensor_json(ce_upstream),
            "cases": cross_entropy_cases,
        },
        "mse": {
            "module": "nn.MSELoss(reduction=...)(input, target)",
            "input": tensor_json(mse_input),
            "target": tensor_json(mse_target),
            "upstream_for_none": tensor_json(mse_upstream),
            "cases": mse_cases,
        },
        "squared_loss": {
            "expr": "per_example = (y_hat - y.reshape(y_hat.shape)) ** 2 / 2; output = per_example.<reduction>()",
            "y_hat": tensor_json(sq_y_hat),
            "y": tensor_json(sq_y),
            "cases": squared_cases,
        },
    }


# --------------------------------------------------------------------------
# Composite autograd expressions

def positive(*shape):
    """Strictly positive values, for inputs of log/sqrt/div."""
    return torch.rand(*shape) + 0.5


OPS_CASES = [
    # (name, expression, inputs as name -> generator, evaluator)
    ("mul_add_relu_sum", "(a * b + c).relu().sum()",
     {"a": lambda: torch.randn(3, 4), "b": lambda: torch.randn(4), "c": lambda: torch.randn(3, 1)},
     lambda a, b, c: (a * b + c).relu().sum()),
    ("linear_sigmoid_mean", "(a.matmul(w) + b).sigmoid().mean()",
     {"a": lambda: torch.randn(5, 3), "w": lambda: torch.randn(3, 4), "b": lambda: torch.randn(4)},
     lambda a, w, b: (a.matmul(w) + b).sigmoid().mean()),
    ("pow_div_abs_tanh_sum_mean", "a.pow(2).div(b.abs() + 1).tanh().sum(dim=1).mean()",
     {"a": lambda: torch.randn(3, 4), "b": lambda: torch.randn(1, 4)},
     lambda a, b: a.pow(2).div(b.abs() + 1).tanh().sum(dim=1).mean()),
    ("max_dim1_sum", "x.max(dim=1).values.sum()",
     {"x": lambda: torch.randn(4, 5)},
     lambda x: x.max(dim=1).values.sum()),
    # x reaches the output both through the max and directly, so the two
    # gradient contributions must accumulate.
    ("max_keepdim_times_x_sum", "x.max(dim=0, keepdim=True).values.mul(x).sum()",
     {"x": lambda: torch.randn(3, 4)},
     lambda x: x.max(dim=0, keepdim=True).values.mul(x).sum()),
    ("norm", "x.norm()",
     {"x": lambda: torch.randn(3, 4)},
     lambda x: x.norm()),
    ("logsumexp_mean", "x.exp().sum(1).log().mean()",
     {"x": lambda: torch.randn(4, 5)},
     lambda x: x.exp().sum(1).log().mean()),
    ("sub_square_mean_keepdim_sqrt_sum", "(a - b).square().mean(dim=0, keepdim=True).sqrt().sum()",
     {"a": lambda: torch.randn(4, 3), "b": lambda: torch.randn(3)},
     lambda a, b: (a - b).square().mean(dim=0, keepdim=True).sqrt().sum()),
    ("neg_log_div_sub_pow3_mean", "(-(x.log()) / y - z).pow(3).mean()",
     {"x": lambda: positive(2, 3), "y": lambda: positive(2, 1), "z": lambda: torch.randn(3)},
     lambda x, y, z: (-(x.log()) / y - z).pow(3).mean()),
]


def ops_fixture():
    torch.manual_seed(2)
    cases = []
    for name, expr, input_makers, evaluate in OPS_CASES:
        inputs = {key: make().requires_grad_(True) for key, make in input_makers.items()}
        output = evaluate(*inputs.values())
        output.backward()
        cases.append({
            "name": name,
            "expr": expr,
            "inputs": {key: tensor_json(t) for key, t in inputs.items()},
            "output": tensor_json(output),
            "grads": {key: tensor_json(t.grad) for key, t in inputs.items()},
        })
    return {"generator": generator_info(), "cases": cases}


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit(f"expected torch 1.13, found {torch.__version__}; run with /usr/bin/python3")
    # One thread keeps reductions in a fixed order, so reruns are bit-identical.
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)

    write_fixture("mlp_sgd.json", mlp_fixture(
        "SGD: nesterov momentum with weight decay on weights only (two groups); "
        "and momentum with dampening and weight decay on all parameters",
        [("sgd_nesterov_weight_decay_on_weights", sgd_nesterov_split_decay),
         ("sgd_momentum_dampening", sgd_dampened)]))
    write_fixture("mlp_adam.json", mlp_fixture(
        "Adam with L2 weight decay: plain, amsgrad, and amsgrad with beta2=0.9 (where the max binds)",
        [("adam", adam(False)), ("adam_amsgrad", adam(True)),
         ("adam_amsgrad_beta2_0.9", adam(True, AMSGRAD_SENSITIVE_BETAS))]))
    write_fixture("mlp_adamw.json", mlp_fixture(
        "AdamW (decoupled weight decay): plain, amsgrad, and amsgrad with beta2=0.9 (where the max binds)",
        [("adamw", adamw(False)), ("adamw_amsgrad", adamw(True)),
         ("adamw_amsgrad_beta2_0.9", adamw(True, AMSGRAD_SENSITIVE_BETAS))]))
    write_fixture("losses.json", losses_fixture())
    write_fixture("ops.json", ops_fixture())


if __name__ == "__main__":
    main()
