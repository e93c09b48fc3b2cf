#!/usr/bin/python3
"""PyTorch 1.13 reference values for views, indexing, joining and bool tensors.

    /usr/bin/python3 tools/make_indexing_fixtures.py

Rewrites test/fixtures/torch/indexing.json, which test/indexing-parity.test.ts
reads (tests never need torch). Each case names an expression that the test
spells in wasmgrad; the fixture holds its float32 inputs, the integer indices
and bool masks it uses, a random weight r, the output, and the gradient of
sum(out * r) with respect to every float input. Bool outputs are stored as
0 / 1. Values are the exact float32 numbers written as Python floats.
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch", "indexing.json")

MASK34 = torch.tensor([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


def arr(t):
    t = t.detach()
    if t.dtype == torch.bool:
        t = t.float()
    return {"shape": list(t.shape), "data": t.double().flatten().tolist()}


# name -> (input shapes, function of the inputs)
CASES = {
    "matmul_nt": ([[3, 4], [5, 4]], lambda a, b: a.matmul(b.t())),
    "matmul_tn": ([[4, 3], [4, 5]], lambda a, b: a.t().matmul(b)),
    "matmul_tt": ([[4, 3], [5, 4]], lambda a, b: a.t().matmul(b.t())),
    "linear_transposed_weight": ([[2, 3], [3, 4], [4]], lambda x, w, b: F.linear(x, w.t(), b)),
    "permute_reverse": ([[2, 3, 4]], lambda a: a.permute(2, 1, 0) * 2),
    "narrow_times_selected_column": ([[3, 5]], lambda a: a.narrow(1, 1, 3) * a.select(1, 0).unsqueeze(1)),
    "expand_row": ([[1, 4]], lambda a: a.expand(3, 4) * torch.tensor([[1.0], [2.0], [3.0]])),
    "transposed_view_exp_sum": ([[3, 4]], lambda a: a.t().exp().sum(0)),
    "reshape_of_transpose": ([[2, 3]], lambda a: a.t().reshape(-1)),
    "index_select_rows": ([[3, 2]], lambda a: a.index_select(0, torch.tensor([2, 0, 2]))),
    "index_select_cols": ([[2, 4]], lambda a: a.index_select(1, torch.tensor([3, 1]))),
    "gather_dim1": ([[3, 4]], lambda a: a.gather(1, torch.tensor([[1], [3], [1]]))),
    "gather_dim0_smaller_index": ([[3, 3]], lambda a: a.gather(0, torch.tensor([[2, 2], [0, 2]]))),
    "masked_fill": ([[3, 4]], lambda a: a.masked_fill(MASK34, -1.0)),
    "masked_select": ([[3, 4]], lambda a: a.masked_select(MASK34)),
    "where_broadcast": ([[3, 4], [4]], lambda a, b: torch.where(MASK34, a, b)),
    "where_relu": ([[3, 4]], lambda a: torch.where(a > 0, a, torch.tensor(0.0))),
    "cat_dim1_with_view": ([[2, 2], [3, 2]], lambda a, b: torch.cat([a, b.t()], -1)),
    "stack_dim1": ([[2, 3], [2, 3]], lambda a, b: torch.stack([a, b], 1)),
    "split_and_rejoin": ([[2, 5]], lambda a: (lambda p: torch.cat([p[2], p[1] * 2, p[0] * 3], 1))(a.split(2, 1))),
    "chunk_product": ([[4, 2]], lambda a: (lambda p: p[0] * p[1])(a.chunk(2))),
    "comparisons_gt": ([[3, 4], [4]], lambda a, b: a > b),
    "comparisons_le_count": ([[3, 4]], lambda a: (a <= 0).sum(1)),
}


def main():
    torch.manual_seed(0)
    cases = {}
    for name, (shapes, fn) in CASES.items():
        xs = [torch.randn(s, dtype=torch.float32).requires_grad_() for s in shapes]
        out = fn(*xs)
        case = {"inputs": [arr(x) for x in xs], "out": arr(out), "dtype": str(out.dtype).replace("torch.", "")}
        if out.dtype == torch.float32:
            r = torch.rand(out.shape, dtype=torch.float32) * 2 - 1
            (out * r).sum().backward()
            case["r"] = arr(r)
            case["grads"] = [arr(x.grad) if x.grad is not None else None for x in xs]
        cases[name] = case
    # Writes through views change the base.
    w = torch.arange(6.0).view(2, 3)
    w.t().mul_(10)
    w.t()[1].fill_(-1)
    x = torch.zeros(3, 4)
    x[:, 0] = 7
    x[:, 1:3] += 1
    in_place = {"w": arr(w), "x": arr(x)}
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases, "in_place": in_place}, f, indent=None)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
