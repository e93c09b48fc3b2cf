#!/usr/bin/python3
"""PyTorch contender of wasmgrad's benchmark suite (bench/suite/run.ts).

A long-lived child process speaking JSON lines: one request per line on stdin,
one reply per line on stdout (see bench/suite/contender.ts). Timings are taken
here, with time.perf_counter, so the pipe is never part of a measurement.

Run by run.ts as /usr/bin/python3 bench/suite/torch_worker.py THREADS, with the
OpenBLAS environment chosen by run.ts (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
removed, or OPENBLAS_CORETYPE forced where OpenBLAS does not know the CPU).
"""

import ctypes
import gzip
import json
import os
import platform
import resource
import sys
import time

import torch
from torch import nn
from torch.utils import data

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(THREADS)


def openblas():
    """The OpenBLAS library this process loaded (via torch), or None."""
    path = None
    try:
        with open(f"/proc/{os.getpid()}/maps") as maps:
            for line in maps:
                if "openblas" in line.lower():
                    path = line.split()[-1]
                    break
    except OSError:
        pass
    if path is None:
        return None, None
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return lib, path
    except (OSError, AttributeError):
        return None, path


BLAS, BLAS_PATH = openblas()
if BLAS is not None:
    try:
        BLAS.openblas_set_num_threads(THREADS)
    except AttributeError:
        pass


def info():
    versions = {
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    notes = []
    if BLAS is not None:
        versions["OpenBLAS config"] = BLAS.openblas_get_config().decode()
        versions["OpenBLAS core"] = BLAS.openblas_get_corename().decode()
        versions["OpenBLAS threads"] = str(BLAS.openblas_get_num_threads())
        versions["OpenBLAS library"] = BLAS_PATH
    else:
        notes.append(f"no OpenBLAS found in the process ({BLAS_PATH or 'not loaded'}): torch's BLAS unknown")
    try:
        import threadpoolctl  # noqa: F401  (optional: only its version is reported)

        versions["threadpoolctl"] = threadpoolctl.__version__
    except ImportError:
        pass
    versions["torch threads"] = str(torch.get_num_threads())
    versions["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    return {"contender": "torch", "versions": versions, "notes": notes, "threads": torch.get_num_threads()}


# ---- GEMM ----------------------------------------------------------------------

gemm_state = {}


def gemm_setup(m, k, n, layout, warmupMs):
    g = torch.Generator().manual_seed(12345)
    # Contiguous operands stored as each layout reads them: NN a[m,k] b[k,n]; NT b[n,k]; TN a[k,m].
    a = torch.rand((k, m) if layout == "TN" else (m, k), generator=g) * 2 - 1
    b = torch.rand((n, k) if layout == "NT" else (k, n), generator=g) * 2 - 1
    if layout == "NN":
        run = lambda: a @ b  # noqa: E731
    elif layout == "NT":
        run = lambda: a @ b.T  # noqa: E731
    else:
        run = lambda: a.T @ b  # noqa: E731
    gemm_state["run"] = run
    until = time.perf_counter() + warmupMs / 1000
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    if first * 1000 >= warmupMs:
        return {"once": first}
    while time.perf_counter() < until:
        run()
    return {"once": gemm_sample(2)["seconds"]}


def gemm_sample(reps):
    run = gemm_state["run"]
    t0 = time.perf_counter()
    for _ in range(reps):
        run()
    return {"seconds": (time.perf_counter() - t0) / reps}


# ---- training ------------------------------------------------------------------

train_state = {}


def read_idx(directory, name, header):
    import numpy as np

    for path in (os.path.join(directory, name), os.path.join(directory, name + ".gz")):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                return np.frombuffer(f.read(), np.uint8, offset=header)
    raise FileNotFoundError(f"{directory} has no {name} or {name}.gz")


def train_setup(dir, seed):
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    # Images stay uint8 (as torchvision's FashionMNIST keeps them); each batch is
    # converted to float32 in [0, 1] when taken, as ToTensor does per image.
    def split(images, labels):
        X = torch.from_numpy(read_idx(dir, images, 16).copy()).view(-1, 1, 28, 28)
        y = torch.from_numpy(read_idx(dir, labels, 8).astype("int64"))
        return data.TensorDataset(X, y)

    train = split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    test = split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10),
    )
    for p in net.parameters():
        nn.init.normal_(p, 0, 0.01)
    train_state.update(
        net=net,
        loss=nn.CrossEntropyLoss(),
        opt=torch.optim.SGD(net.parameters(), lr=0.5),
        train_iter=data.DataLoader(train, batch_size=256, shuffle=True),
        test_iter=data.DataLoader(test, batch_size=256, shuffle=False),
    )
    return {
        "trainSize": len(train),
        "testSize": len(test),
        "batchesPerEpoch": len(train_state["train_iter"]),
        "loadSeconds": time.perf_counter() - t0,
    }


def train_epoch(maxBatches):
    s = train_state
    net, loss_fn, opt = s["net"], s["loss"], s["opt"]
    t0 = time.perf_counter()
    net.train()
    loss_sum = 0.0
    correct = 0
    seen = 0
    batches = 0
    data_seconds = 0.0
    it = iter(s["train_iter"])
    while True:
        d0 = time.perf_counter()
        try:
            X, y = next(it)
        except StopIteration:
            break
        X = X.float() / 255
        data_seconds += time.perf_counter() - d0
        logits = net(X)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        n = y.shape[0]
        loss_sum += loss.item() * n
        correct += (logits.argmax(1) == y).sum().item()
        seen += n
        batches += 1
        if maxBatches and batches >= maxBatches:
            break
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds, "batches": batches, "images": seen,
        "loss": loss_sum / seen, "accuracy": correct / seen, "dataSeconds": data_seconds,
    }


def evaluate(maxBatches):
    net = train_state["net"]
    t0 = time.perf_counter()
    net.eval()
    correct = 0
    seen = 0
    batches = 0
    with torch.no_grad():
        for X, y in train_state["test_iter"]:
            X = X.float() / 255
            correct += (net(X).argmax(1) == y).sum().item()
            seen += y.shape[0]
            batches += 1
            if maxBatches and batches >= maxBatches:
                break
    return {"seconds": time.perf_counter() - t0, "batches": batches, "images": seen, "accuracy": correct / seen}


def stats():
    # Linux reports ru_maxrss in KiB; statm's second field is resident pages.
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * resource.getpagesize()
    return {"maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rssBytes": rss}


def handle(req):
    cmd = req["cmd"]
    if cmd == "info":
        return info()
    if cmd == "gemm_setup":
        return gemm_setup(req["m"], req["k"], req["n"], req["layout"], req["warmupMs"])
    if cmd == "gemm_sample":
        return gemm_sample(req["reps"])
    if cmd == "gemm_free":
        gemm_state.clear()
        return {}
    if cmd == "train_setup":
        return train_setup(req["dir"], req["seed"])
    if cmd == "train_epoch":
        return train_epoch(req["maxBatches"])
    if cmd == "eval":
        return evaluate(req["maxBatches"])
    if cmd == "stats":
        return stats()
    raise ValueError(f"unsupported command {cmd!r}")


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("cmd") == "exit":
            out.write(json.dumps({"id": req["id"], "ok": True}) + "\n")
            out.flush()
            return
        try:
            reply = {"id": req["id"], "ok": True, **handle(req)}
        except Exception as e:  # reported to the orchestrator, which says what failed
            reply = {"id": req.get("id"), "ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
