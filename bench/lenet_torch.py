#!/usr/bin/python3
"""PyTorch 1.13 side of bench/lenet.ts (bench/epoch.ts --lenet): d2l's LeNet on one thread.

Reads lines "N" on stdin, trains N batches of 256 synthetic images, answers
the milliseconds each batch took (JSON list) on stdout.
"""
import json
import sys
import time

import torch
from torch import nn

torch.set_num_threads(1)
torch.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
for m in net:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(m.weight)
opt = torch.optim.SGD(net.parameters(), lr=0.9)
loss = nn.CrossEntropyLoss()
x = torch.rand(256, 1, 28, 28)
y = torch.randint(0, 10, (256,))
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t = time.perf_counter()
        out = net(x)
        l = loss(out, y)
        opt.zero_grad()
        l.backward()
        opt.step()
        l.item()
        (out.argmax(1) == y).sum().item()
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps(times), flush=True)
