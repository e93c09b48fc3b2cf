#!/usr/bin/python3
"""PyTorch 1.13 running the code of examples/weight-decay.ts and examples/dropout.ts.

The examples follow the book (Dive into Deep Learning, "Weight Decay" and
"Dropout") section by section; this script is the book's PyTorch code with the
same settings, seeded once at the top as the examples are, for several seeds:

    /usr/bin/python3 tools/make_d2l_examples_reference.py [--dropout-seeds 3]

It writes data/pytorch-reference/d2l_examples.json, which test/examples.test.ts
reads. The dropout half needs the full Fashion-MNIST in
/usr/share/datasets/fashion-mnist (or $FASHION_MNIST_DIR).

Settings that differ from the book's second edition, kept equal to the
examples and to data/pytorch-reference/*.json: weight decay trains with batch
size 1 (the edition this chapter's PyTorch port used; the second edition uses
5), dropout trains 5 epochs (not 10) and initializes every parameter of the
concise model with normal(0, 0.01) (not only the weights).
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "pytorch-reference", "d2l_examples.json")

# ---- d2l's helpers, as the d2l package defines them ---------------------------------


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def evaluate_loss(net, data_iter, loss):
    total, n = 0.0, 0
    for X, y in data_iter:
        out = net(X)
        l = loss(out, y.reshape(out.shape))
        total += float(l.sum())
        n += l.numel()
    return total / n


# ---- Weight decay ------------------------------------------------------------------


def weight_decay_chapter(seed):
    torch.manual_seed(seed)
    n_train, n_test, num_inputs, batch_size = 20, 100, 200, 1
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    train_data = synthetic_data(true_w, true_b, n_train)
    train_iter = load_array(train_data, batch_size)
    test_data = synthetic_data(true_w, true_b, n_test)
    test_iter = load_array(test_data, batch_size, is_train=False)

    def init_params():
        w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        return [w, b]

    def l2_penalty(w):
        return torch.sum(w.pow(2)) / 2

    def train(lambd):
        w, b = init_params()
        net, loss = lambda X: linreg(X, w, b), squared_loss
        num_epochs, lr = 100, 0.003
        for epoch in range(num_epochs):
            for X, y in train_iter:
                l = loss(net(X), y) + lambd * l2_penalty(w)
                l.sum().backward()
                sgd([w, b], lr, batch_size)
        return {"train_loss": evaluate_loss(net, train_iter, loss), "test_loss": evaluate_loss(net, test_iter, loss),
                "w_norm": torch.norm(w).item()}

    def train_concise(wd):
        net = nn.Sequential(nn.Linear(num_inputs, 1))
        for param in net.parameters():
            param.data.normal_()
        loss = nn.MSELoss(reduction="none")
        num_epochs, lr = 100, 0.003
        trainer = torch.optim.SGD([{"params": net[0].weight, "weight_decay": wd}, {"params": net[0].bias}], lr=lr)
        for epoch in range(num_epochs):
            for X, y in train_iter:
                trainer.zero_grad()
                l = loss(net(X), y)
                l.mean().backward()
                trainer.step()
        return {"train_loss": evaluate_loss(net, train_iter, loss), "test_loss": evaluate_loss(net, test_iter, loss),
                "w_norm": net[0].weight.norm().item()}

    return {"train(0)": train(0), "train(3)": train(3), "trainConcise(0)": train_concise(0), "trainConcise(3)": train_concise(3)}


# ---- Dropout -----------------------------------------------------------------------


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data_fashion_mnist(batch_size, root):
    def split(prefix):
        name = lambda kind: next(os.path.join(root, f"{prefix}-{kind}") + ext for ext in (".gz", "")
                                 if os.path.exists(os.path.join(root, f"{prefix}-{kind}") + ext))
        X = torch.tensor(read_idx(name("images-idx3-ubyte")), dtype=torch.float32).reshape(-1, 1, 28, 28) / 255
        y = torch.tensor(read_idx(name("labels-idx1-ubyte")), dtype=torch.int64)
        return torch.utils.data.TensorDataset(X, y)
    train, test = split("train"), split("t10k")
    return (torch.utils.data.DataLoader(train, batch_size, shuffle=True),
            torch.utils.data.DataLoader(test, batch_size, shuffle=False))


def accuracy(y_hat, y):
    return float((y_hat.argmax(axis=1).type(y.dtype) == y).type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    net.eval()
    correct, n = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y)
            n += y.numel()
    return correct / n


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    history = []
    for epoch in range(num_epochs):
        net.train()
        total, correct, n = 0.0, 0.0, 0
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
            total += float(l.sum())
            correct += accuracy(y_hat, y)
            n += y.numel()
        history.append({"epoch": epoch + 1, "train_loss": total / n, "train_acc": correct / n,
                        "test_acc": evaluate_accuracy(net, test_iter)})
    return history


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 784, 10, 256, 256
dropout1, dropout2 = 0.2, 0.5


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, is_training=True):
        super(Net, self).__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        if self.training == True:
            H1 = dropout_layer(H1, dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.training == True:
            H2 = dropout_layer(H2, dropout2)
        return self.lin3(H2)


def dropout_chapter(seed, root):
    torch.manual_seed(seed)
    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    for p in (0.0, 0.5, 1.0):
        dropout_layer(X, p)
    net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
    num_epochs, lr, batch_size = 5, 0.5, 256
    loss = nn.CrossEntropyLoss(reduction="none")
    train_iter, test_iter = load_data_fashion_mnist(batch_size, root)
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    scratch = train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout1),
                        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(dropout2),
                        nn.Linear(256, 10))
    for param in net.parameters():
        nn.init.normal_(param, mean=0, std=0.01)
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    concise = train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
    return {"Net": scratch, "Sequential": concise}


def summarize(values):
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weight-decay-seeds", type=int, default=10)
    parser.add_argument("--dropout-seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = {"generator": "tools/make_d2l_examples_reference.py", "torch": torch.__version__}
    t0 = time.time()
    runs = [weight_decay_chapter(s) for s in range(args.weight_decay_seeds)]
    out["weight_decay"] = {
        "settings": "n_train 20, n_test 100, 200 inputs, batch 1, 100 epochs, lr 0.003; losses by evaluate_loss (the run's own loss)",
        "seeds": args.weight_decay_seeds,
        "runs": {k: {m: summarize([r[k][m] for r in runs]) for m in runs[0][k]} for k in runs[0]},
    }
    print(f"weight decay: {time.time() - t0:.1f} s", flush=True)
    root = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    runs = []
    for s in range(args.dropout_seeds):
        runs.append(dropout_chapter(s, root))
        print(f"dropout seed {s}: {time.time() - t0:.1f} s", flush=True)
    out["dropout"] = {
        "settings": "full Fashion-MNIST, batch 256, SGD lr 0.5, 5 epochs, dropout 0.2 / 0.5; train loss and accuracy of the train-mode outputs before each step (train_ch3), test accuracy in eval mode",
        "seeds": args.dropout_seeds,
        "runs": {k: [{m: summarize([r[k][e][m] for r in runs]) for m in ("train_loss", "train_acc", "test_acc")}
                     for e in range(len(runs[0][k]))] for k in runs[0]},
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
