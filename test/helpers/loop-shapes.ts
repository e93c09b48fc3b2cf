// The loops a PyTorch user writes, each as one iteration's body, written the
// way a user writes them: no dispose(), keep(), await or call into the garbage collector inside. The soak
// (`npm run bench:soak`, bench/soak.ts --shapes) runs each for 20 000 iterations and the tests
// (test/memory-loops.test.ts) for a few hundred; memory must stay flat.

import { data, nn, noGrad, optim, randn, tensor, zeros, zerosLike, type Tensor } from "../../src/index.ts";

export interface LoopShape {
  name: string;
  /** Builds the model and the data made before the loop; returns one iteration. */
  setup(): () => void;
}

const FEATURES = 32;
const CLASSES = 4;
const BATCH = 16;

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(FEATURES, 64), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(64, CLASSES));
}

/** Labels of a batch as the JS numbers a user has: i-th label (i·7 + step) mod CLASSES. */
function labelsOf(step: number): number[] {
  return Array.from({ length: BATCH }, (_, i) => (i * 7 + step) % CLASSES);
}

/** The model and one batch made before the loop, the model in eval mode if asked. */
function fixedBatch(evalMode = false): { net: nn.Sequential; X: Tensor; y: Tensor } {
  const net = mlp();
  if (evalMode) net.eval();
  return { net, X: randn([BATCH, FEATURES]), y: tensor(labelsOf(0), { dtype: "int32" }) };
}

/** One training step of the usual loop, with the input and labels made this step. */
const lossFn = new nn.CrossEntropyLoss();

function trainStep(net: nn.Module, opt: optim.Optimizer<object>, X: Tensor, y: Tensor): void {
  const logits = net.forward(X);
  const loss = lossFn.forward(logits, y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  // Read after the step, as d2l does.
  loss.item();
  noGrad(() => logits.argmax(1).eq(y).sum().item());
}

export const LOOP_SHAPES: LoopShape[] = [
  {
    name: "train, randn input per step",
    setup() {
      const net = mlp();
      const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      let step = 0;
      return () => trainStep(net, opt, randn([BATCH, FEATURES]), tensor(labelsOf(step++), { dtype: "int32" }));
    },
  },
  {
    name: "train, tensor() of arrays per step",
    setup() {
      const net = mlp();
      const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
      const values = Float32Array.from({ length: BATCH * FEATURES }, (_, i) => Math.sin(i));
      let step = 0;
      return () => {
        const X = tensor(values, { shape: [BATCH, FEATURES] });
        const y = tensor(Int32Array.from(labelsOf(step++)));
        trainStep(net, opt, X, y);
      };
    },
  },
  {
    name: "noGrad eval over a fixed tensor",
    setup() {
      const X = randn([256, 256]);
      return () => {
        noGrad(() => X.mul(2).sum().item());
      };
    },
  },
  {
    name: "eval-mode forward, grad on, no backward",
    setup() {
      const { net, X, y } = fixedBatch(true);
      return () => {
        const logits = net.forward(X);
        logits.argmax(1).eq(y).sum().item();
      };
    },
  },
  {
    name: "evaluation: two forwards and two noGrad metrics per iteration",
    setup() {
      const { net, X, y } = fixedBatch(true);
      return () => {
        const logits = net.forward(X);
        const loss = lossFn.forward(logits, y);
        noGrad(() => loss.item());
        noGrad(() => logits.argmax(1).eq(y).float().mean().item());
      };
    },
  },
  {
    name: "d2l from scratch: manual SGD under noGrad, grad.zero_()",
    setup() {
      // d2l 3.4: linear regression, w ~ N(0, 0.01²), b = 0, minibatches of the synthetic data.
      const trueW = [2, -3.4];
      const w = randn([2, 1]).mul(0.01).requiresGrad_();
      const b = zeros(1, { requiresGrad: true });
      const lr = 0.03;
      let step = 0;
      return () => {
        const xs = Float32Array.from({ length: BATCH * 2 }, (_, i) => Math.cos(i + step));
        const ys = Float32Array.from({ length: BATCH }, (_, i) => trueW[0] * xs[2 * i] + trueW[1] * xs[2 * i + 1] + 4.2);
        step++;
        const X = tensor(xs, { shape: [BATCH, 2] });
        const y = tensor(ys, { shape: [BATCH, 1] });
        const yHat = X.matmul(w).add(b);
        const l = yHat.sub(y.reshape(yHat.shape)).square().div(2);
        l.sum().backward();
        noGrad(() => {
          for (const p of [w, b]) {
            p.sub_(p.grad!.mul(lr).div(BATCH));
            p.grad!.zero_();
          }
        });
      };
    },
  },
  {
    name: "hand-written Adadelta, state from zerosLike",
    setup() {
      const { net, X, y } = fixedBatch();
      const params = net.parameters();
      const squares = params.map((p) => zerosLike(p));
      const deltas = params.map((p) => zerosLike(p));
      const [rho, eps, lr] = [0.9, 1e-6, 1.0];
      return () => {
        net.zeroGrad();
        lossFn.forward(net.forward(X), y).backward();
        noGrad(() => {
          params.forEach((p, i) => {
            const g = p.grad!;
            squares[i].mul_(rho).add_(g.square(), { alpha: 1 - rho });
            const delta = deltas[i].add(eps).sqrt().div(squares[i].add(eps).sqrt()).mul(g);
            p.add_(delta, { alpha: -lr });
            deltas[i].mul_(rho).add_(delta.square(), { alpha: 1 - rho });
          });
        });
      };
    },
  },
  {
    name: "manual update with add_(grad, { alpha })",
    setup() {
      const { net, X, y } = fixedBatch();
      return () => {
        net.zeroGrad();
        lossFn.forward(net.forward(X), y).backward();
        noGrad(() => {
          for (const p of net.parameters()) p.add_(p.grad!, { alpha: -0.01 });
        });
      };
    },
  },
  {
    name: "DataLoader loop",
    setup() {
      const n = BATCH * 8;
      const ds = new data.TensorDataset(randn([n, FEATURES]), tensor(Int32Array.from({ length: n }, (_, i) => i % CLASSES)));
      const loader = new data.DataLoader(ds, { batchSize: BATCH, shuffle: true });
      const net = mlp();
      const opt = new optim.SGD(net.parameters(), { lr: 0.05 });
      let batches: Iterator<Tensor[]> = loader[Symbol.iterator]();
      return () => {
        let next = batches.next();
        if (next.done) next = (batches = loader[Symbol.iterator]()).next();
        const [X, y] = next.value as Tensor[];
        trainStep(net, opt, X, y);
      };
    },
  },
];
