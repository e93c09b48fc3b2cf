#!/usr/bin/python3
"""PyTorch 1.13 trajectories of RMSprop, Adagrad, Adadelta and the LR schedulers.

Run with Debian's interpreter, which has torch 1.13:

    /usr/bin/python3 tools/make_torch_optim_fixtures.py

It rewrites test/fixtures/torch/optim_adaptive.json and lr_schedulers.json;
test/optim-adaptive.test.ts and test/lr-scheduler.test.ts read them (commit
the outputs; tests never need torch).

optim_adaptive.json: two parameters, A [5, 7] and B [3] (odd sizes, so the
Wasm kernels' scalar tails run), in two parameter groups with different
settings. Each step's gradient is that of a fixed loss at the current
parameters, and is stored, so a reader feeds PyTorch's gradients and compares
only the optimizer: parameters and state after every step.

lr_schedulers.json: an SGD optimizer with two groups (lr 0.1 and 0.02) under
each scheduler; get_last_lr() after the constructor and after each step.
"""

import json
import math
import os

import torch

SCRIPT = "tools/make_torch_optim_fixtures.py"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch")
STEPS = 8
SCHEDULER_STEPS = 14


def tensor_json(t):
    t = t.detach()
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


def write(filename, payload):
    payload = {"generator": {"torch": torch.__version__, "script": SCRIPT}, **payload}
    with open(os.path.join(OUT_DIR, filename), "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")


def problem():
    g = torch.Generator().manual_seed(15)
    a = torch.randn(5, 7, generator=g)
    b = torch.randn(3, generator=g)
    ta, tb = torch.randn(5, 7, generator=g), torch.randn(3, generator=g)
    wa, wb = torch.rand(5, 7, generator=g) + 0.5, torch.rand(3, generator=g) + 0.5
    return a, b, (ta, tb, wa, wb)


def loss_of(a, b, consts):
    ta, tb, wa, wb = consts
    # Quadratic pull to targets plus a cubic term, so gradients change size and sign along the way.
    return (wa * (a - ta) ** 2).sum() + (wb * (b - tb) ** 2).sum() + 0.1 * (a ** 3).sum() + 0.1 * (b ** 3).sum()


# name: (optimizer class, group-0 settings / defaults, group-1 overrides), in PyTorch's spelling.
VARIANTS = [
    ("rmsprop", torch.optim.RMSprop, {}, {"lr": 0.003}),
    ("rmsprop_centered_momentum_decay", torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.8, "centered": True, "weight_decay": 0.05}, {"centered": False}),
    ("rmsprop_momentum_maximize", torch.optim.RMSprop, {"lr": 0.005, "momentum": 0.5, "maximize": True}, {"momentum": 0.0}),
    ("adagrad", torch.optim.Adagrad, {}, {"lr": 0.05}),
    ("adagrad_decay_init_acc", torch.optim.Adagrad,
     {"lr": 0.1, "lr_decay": 0.3, "weight_decay": 0.02, "initial_accumulator_value": 0.1, "eps": 1e-8},
     {"lr_decay": 0.0, "eps": 1e-6}),
    # PyTorch 1.13 fills every group's sums with the constructor's initial_accumulator_value,
    # ignoring a group's own (wasmgrad uses the group's): the fixtures leave it per optimizer.
    ("adagrad_maximize", torch.optim.Adagrad, {"lr": 0.02, "maximize": True}, {}),
    ("adadelta", torch.optim.Adadelta, {}, {"lr": 0.5}),
    ("adadelta_rho_decay", torch.optim.Adadelta, {"lr": 2.0, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1}, {"rho": 0.95}),
    ("adadelta_maximize", torch.optim.Adadelta, {"maximize": True}, {}),
]

CAMEL = {"weight_decay": "weightDecay", "lr_decay": "lrDecay", "initial_accumulator_value": "initialAccumulatorValue"}
STATE_CAMEL = {"square_avg": "squareAvg", "momentum_buffer": "momentumBuffer", "grad_avg": "gradAvg", "acc_delta": "accDelta",
               "sum": "sum", "step": "step"}


def camel(settings):
    return {CAMEL.get(k, k): v for k, v in settings.items()}


def trajectory(name, cls, opts, group1):
    a0, b0, consts = problem()
    a = a0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    opt = cls([{"params": [a]}, {"params": [b], **group1}], foreach=False, **opts)
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(a, b, consts).backward()
        grads = [tensor_json(a.grad), tensor_json(b.grad)]
        opt.step()
        state = []
        for p in (a, b):
            st = opt.state[p]
            state.append({STATE_CAMEL[k]: (float(v) if k == "step" else tensor_json(v)) for k, v in st.items()})
        steps.append({"grads": grads, "params": [tensor_json(a), tensor_json(b)], "state": state})
    return {"name": name, "optimizer": cls.__name__, "options": camel(opts), "group1": camel(group1),
            "initial": [tensor_json(a0), tensor_json(b0)], "steps": steps}


def optim_fixture():
    return {"variants": [trajectory(*v) for v in VARIANTS]}


def with_rmsprop_steplr():
    """RMSprop whose lr a StepLR changes every 2 steps: the kernels see the scheduled rates."""
    a0, b0, consts = problem()
    a, b = a0.clone().requires_grad_(), b0.clone().requires_grad_()
    opt = torch.optim.RMSprop([{"params": [a]}, {"params": [b], "lr": 0.004}], lr=0.02, momentum=0.3, foreach=False)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(a, b, consts).backward()
        grads = [tensor_json(a.grad), tensor_json(b.grad)]
        opt.step()
        sched.step()
        steps.append({"grads": grads, "params": [tensor_json(a), tensor_json(b)], "lastLr": sched.get_last_lr()})
    return {"initial": [tensor_json(a0), tensor_json(b0)], "steps": steps}


SCHEDULERS = [
    ("StepLR", {"stepSize": 3, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("StepLR", {"stepSize": 1}, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1)),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3},
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", {"gamma": 0.9}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", {"tMax": 4, "etaMin": 0.001},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
    ("CosineAnnealingLR", {"tMax": 10}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
    # The lambdas the test writes in JS: "pow95" is e => 0.95 ** e, "inverse" e => 1 / (e + 1).
    ("LambdaLR", {"lrLambda": "pow95"}, lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", {"lrLambda": ["inverse", "pow95"]},
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.95 ** e])),
]


def scheduler_fixture():
    cases = []
    for name, options, make in SCHEDULERS:
        p, q = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.02}], lr=0.1)
        sched = make(opt)
        lrs = [sched.get_last_lr()]
        for _ in range(SCHEDULER_STEPS):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        cases.append({"scheduler": name, "options": options, "groupLrs": [0.1, 0.02], "lastLr": lrs})
    return {"cases": cases, "rmspropWithStepLR": with_rmsprop_steplr()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    write("optim_adaptive.json", optim_fixture())
    write("lr_schedulers.json", scheduler_fixture())
    print("wrote optim_adaptive.json and lr_schedulers.json to", os.path.normpath(OUT_DIR))
