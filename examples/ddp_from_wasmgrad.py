#!/usr/bin/python3
"""Continue a wasmgrad training run under PyTorch's DistributedDataParallel.

    npx tsx examples/pytorch-handover.ts start --out run.safetensors
    torchrun --nproc_per_node 2 examples/ddp_from_wasmgrad.py run.safetensors --out back.safetensors
    npx tsx examples/pytorch-handover.ts evaluate back.safetensors

Every process loads the wasmgrad checkpoint (model from its layer list,
optimizer with its state: tools/pytorch_handover.py), wraps the model in
DistributedDataParallel (gloo, CPU) and trains on its share of Fashion-MNIST:
each of the N processes takes batch-size / N images per step, and DDP averages
the gradients, so a step is the single-process step on the whole batch. Rank 0
then measures the test accuracy in PyTorch and writes the run back as a
checkpoint wasmgrad resumes. The data are the installed Fashion-MNIST
(/usr/share/datasets/fashion-mnist/), else the bundled subset; --root picks
another directory of the four IDX files.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from pytorch_handover import load_checkpoint, save_checkpoint  # noqa: E402

INSTALLED = "/usr/share/datasets/fashion-mnist"
BUNDLED = os.path.join(HERE, "..", "data", "fashion-mnist-subset")


def read_idx(path):
    """An IDX file (gzipped or not) as a uint8 tensor of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, kind, ndim = struct.unpack_from(">HBB", raw, 0)
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack_from(f">{ndim}I", raw, 4)
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)


def fashion_mnist(root, train):
    prefix = "train" if train else "t10k"
    def find(name):
        for candidate in (name + ".gz", name):
            if os.path.exists(os.path.join(root, candidate)):
                return os.path.join(root, candidate)
        raise FileNotFoundError(f"{name}(.gz) not found in {root}")
    images = read_idx(find(f"{prefix}-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte")).long()
    return TensorDataset(images, labels)


def accuracy(model, dataset):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=1024):
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a wasmgrad checkpoint (io.saveCheckpoint)")
    parser.add_argument("--out", required=True, help="the checkpoint to write back for wasmgrad")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256, help="images per step over all processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=INSTALLED if os.path.isdir(INSTALLED) else BUNDLED)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world != 0:
        raise SystemExit(f"--batch-size {args.batch_size} does not split evenly over {world} processes")
    torch.manual_seed(args.seed + rank)  # each process draws its own dropout masks

    model, optimizer, ckpt = load_checkpoint(args.checkpoint)
    if optimizer is None:
        raise SystemExit(f"{args.checkpoint} holds no optimizer state to continue with")
    ddp = DistributedDataParallel(model)
    train = fashion_mnist(args.root, train=True)
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size // world, sampler=sampler)
    loss_fn = nn.CrossEntropyLoss()
    first_epoch = int(ckpt.user.get("epoch", "0")) + 1

    t0 = time.perf_counter()
    for epoch in range(first_epoch, first_epoch + args.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        totals = torch.zeros(2, dtype=torch.float64)  # loss sum, images
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            optimizer.step()
            totals += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        dist.all_reduce(totals)
        if rank == 0:
            print(f"epoch {epoch}: train loss {totals[0] / totals[1]:.3f} over {int(totals[1])} images "
                  f"on {world} processes, {time.perf_counter() - t0:.1f} s", flush=True)
    seconds = time.perf_counter() - t0
    train_loss = (totals[0] / totals[1]).item()

    if rank == 0:
        test_acc = accuracy(model, fashion_mnist(args.root, train=False))
        last = first_epoch + args.epochs - 1
        save_checkpoint(args.out, model, optimizer, like=ckpt, metadata={"epoch": str(last)})
        print(f"PyTorch test accuracy {test_acc:.4f}; wrote {args.out}")
        print(json.dumps({"epoch": last, "trainLoss": train_loss, "testAcc": test_acc, "seconds": seconds, "processes": world, "root": os.path.abspath(args.root)}))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
