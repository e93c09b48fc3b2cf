#!/usr/bin/python3
"""Small files in formats that are not safetensors, for test/io-foreign.test.ts.

    /usr/bin/python3 tools/make_foreign_files.py

Writes test/fixtures/foreign/: what torch.save writes (zip, and the legacy
pickle), a TorchScript archive, NumPy's .npy and .npz, and a plain pickle.
Commit the outputs; the tests only read them.
"""

import os
import pickle

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "foreign")


def main():
    os.makedirs(OUT, exist_ok=True)
    state = {"weight": torch.zeros(2, 3), "bias": torch.zeros(2)}
    torch.save(state, os.path.join(OUT, "state_dict.pt"))
    torch.save(state, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), os.path.join(OUT, "scripted.pt"))
    np.save(os.path.join(OUT, "array.npy"), np.zeros((2, 3), dtype=np.float32))
    np.savez(os.path.join(OUT, "arrays.npz"), weight=np.zeros((2, 3), dtype=np.float32))
    with open(os.path.join(OUT, "plain.pkl"), "wb") as f:
        pickle.dump({"weight": [0.0, 0.0]}, f, protocol=4)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
