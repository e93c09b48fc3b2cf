// Dive into Deep Learning, "Weight Decay", as the book writes it, section by section.
// docs/d2l-side-by-side.md puts each section next to the book's PyTorch code.
// Run: npx tsx examples/weight-decay.ts        (SEED=1 for another seed)

import { data, manualSeed, nn, noGrad, ones, optim, randn, zeros, type Tensor } from "wasmgrad";

manualSeed(Number(process.env.SEED ?? 0));

// ---- The d2l package's helpers the chapter uses -------------------------------------
const linreg = (X: Tensor, w: Tensor, b: Tensor) => X.matmul(w).add(b);
const squaredLoss = (yHat: Tensor, y: Tensor) => yHat.sub(y.reshape(yHat.shape)).square().div(2);

function sgd(params: Tensor[], lr: number, batchSize: number) {
  noGrad(() => {
    for (const param of params) {
      param.sub_(param.grad!.mul(lr).div(batchSize));
      param.grad!.zero_();
    }
  });
}

const loadArray = ([X, y]: [Tensor, Tensor], batchSize: number, isTrain = true) =>
  new data.DataLoader(new data.TensorDataset(X, y), { batchSize, shuffle: isTrain });

// PyTorch calls a module like a function; here a module's forward is called.
type Fn = ((...xs: Tensor[]) => Tensor) | nn.Module;
const call = (f: Fn, ...xs: Tensor[]) => (f instanceof nn.Module ? f.forward(...xs) : f(...xs));

function evaluateLoss(net: Fn, dataIter: data.DataLoader, loss: Fn) {
  let [sum, n] = [0, 0];
  for (const [X, y] of dataIter) {
    const l = call(loss, call(net, X), y);
    [sum, n] = [sum + l.sum().item(), n + l.numel()];
  }
  return sum / n;
}

// ---- High-dimensional linear regression ---------------------------------------------
const [nTrain, nTest, numInputs, batchSize] = [20, 100, 200, 1];
const [trueW, trueB] = [ones([numInputs, 1]).mul(0.01), 0.05];
const trainData = data.syntheticRegression(trueW, trueB, nTrain);
const trainIter = loadArray(trainData, batchSize);
const testData = data.syntheticRegression(trueW, trueB, nTest);
const testIter = loadArray(testData, batchSize, false);

// ---- Initializing model parameters ---------------------------------------------------
function initParams() {
  const w = randn([numInputs, 1], { requiresGrad: true });
  const b = zeros([1], { requiresGrad: true });
  return [w, b];
}

// ---- Defining the L2 norm penalty ----------------------------------------------------
const l2Penalty = (w: Tensor) => w.pow(2).sum().div(2);

// ---- Defining the training loop ------------------------------------------------------
function train(lambd: number) {
  const [w, b] = initParams();
  const [net, loss] = [(X: Tensor) => linreg(X, w, b), squaredLoss];
  const [numEpochs, lr] = [100, 0.003];
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    for (const [X, y] of trainIter) {
      // The L2 penalty is a scalar: broadcasting adds it to each example's loss.
      const l = loss(net(X), y).add(l2Penalty(w).mul(lambd));
      l.sum().backward();
      sgd([w, b], lr, batchSize);
    }
  }
  console.log(`train loss ${evaluateLoss(net, trainIter, loss)}, test loss ${evaluateLoss(net, testIter, loss)}`);
  console.log("L2 norm of w:", w.norm().item());
}

// ---- Training without regularization, then using weight decay -----------------------
train(0);
train(3);

// ---- Concise implementation ----------------------------------------------------------
function trainConcise(wd: number) {
  const net = new nn.Sequential(new nn.Linear(numInputs, 1));
  for (const param of net.parameters()) nn.init.normal_(param);
  const loss = new nn.MSELoss({ reduction: "none" });
  const [numEpochs, lr] = [100, 0.003];
  // The bias is not decayed.
  const trainer = new optim.SGD([{ params: [net[0].weight], weightDecay: wd }, { params: [net[0].bias!] }], { lr });
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    for (const [X, y] of trainIter) {
      trainer.zeroGrad();
      const l = loss.forward(net.forward(X), y);
      l.mean().backward();
      trainer.step();
    }
  }
  console.log(`train loss ${evaluateLoss(net, trainIter, loss)}, test loss ${evaluateLoss(net, testIter, loss)}`);
  console.log("L2 norm of w:", net[0].weight.norm().item());
}

trainConcise(0);
trainConcise(3);
