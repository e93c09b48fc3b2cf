// A user's app: one import, no plugin, no .wasm path, no copy step, no setWasmPaths.
// It trains a small MLP on XOR and reports what it learned.

import { getBackend, manualSeed, nn, noGrad, optim, ready, tensor } from "wasmgrad";

export async function main() {
  await ready(); // compiles the Wasm module: needed once on a browser's main thread
  manualSeed(0);
  const X = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tensor([0, 1, 1, 0], { dtype: "int32" });
  const net = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 2));
  const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
  const lossFn = new nn.CrossEntropyLoss();
  let loss = NaN;
  for (let step = 0; step < 300; step++) {
    const l = lossFn.forward(net.forward(X), y);
    opt.zeroGrad();
    l.backward();
    opt.step();
    loss = l.item();
  }
  const predictions = noGrad(() => net.forward(X).argmax(1).toArray());
  return { backend: getBackend().description, loss, predictions };
}

export const result = main().then(
  (r) => {
    if (typeof document !== "undefined") {
      document.getElementById("out").textContent = JSON.stringify(r);
      document.body.dataset.state = "done";
    }
    return r;
  },
  (error) => {
    if (typeof document !== "undefined") {
      document.getElementById("out").textContent = `error: ${error.message}`;
      document.body.dataset.state = "error";
    }
    throw error;
  },
);
