// Dive into Deep Learning, "Dropout", as the book writes it, section by section.
// docs/d2l-side-by-side.md puts each section next to the book's PyTorch code.
// Run: npx tsx examples/dropout.ts        (EPOCHS=1 for a quick run, SEED=1 for another seed)
// It trains on the full Fashion-MNIST if installed ($FASHION_MNIST_DIR, or
// /usr/share/datasets/fashion-mnist), else on the 6 000-image subset bundled with wasmgrad.

import { arange, data, manualSeed, nn, noGrad, optim, rand, zerosLike, type Tensor } from "wasmgrad";

manualSeed(Number(process.env.SEED ?? 0));

// ---- The d2l package's helpers the chapter uses -------------------------------------
async function loadDataFashionMnist(batchSize: number) {
  const train = await data.fashionMnist({ train: true });
  const test = await data.fashionMnist({ train: false });
  return [new data.DataLoader(train, { batchSize, shuffle: true }), new data.DataLoader(test, { batchSize })];
}

const accuracy = (yHat: Tensor, y: Tensor) => yHat.argmax(1).eq(y).sum().item();

function evaluateAccuracy(net: nn.Module, dataIter: data.DataLoader) {
  net.eval();
  let [correct, n] = [0, 0];
  noGrad(() => {
    for (const [X, y] of dataIter) [correct, n] = [correct + accuracy(net.forward(X), y), n + y.numel()];
  });
  return correct / n;
}

/** d2l's train_ch3, printing each epoch where the book draws a figure. */
function trainCh3(net: nn.Module, trainIter: data.DataLoader, testIter: data.DataLoader, loss: nn.Module, numEpochs: number, updater: optim.SGD) {
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    net.train();
    let [lossSum, correct, n] = [0, 0, 0];
    for (const [X, y] of trainIter) {
      const yHat = net.forward(X);
      const l = loss.forward(yHat, y);
      updater.zeroGrad();
      l.mean().backward();
      updater.step();
      [lossSum, correct, n] = [lossSum + l.sum().item(), correct + accuracy(yHat, y), n + y.numel()];
    }
    const testAcc = evaluateAccuracy(net, testIter);
    console.log(`epoch ${epoch + 1}: train loss ${(lossSum / n).toFixed(3)}, train acc ${(correct / n).toFixed(3)}, test acc ${testAcc.toFixed(3)}`);
  }
}

// ---- Implementation from scratch -----------------------------------------------------
function dropoutLayer(X: Tensor, dropout: number) {
  if (!(0 <= dropout && dropout <= 1)) throw new RangeError(`dropout must be in [0, 1], got ${dropout}`);
  // In this case, every element is dropped.
  if (dropout === 1) return zerosLike(X);
  // In this case, every element is kept.
  if (dropout === 0) return X;
  const mask = rand(X.shape).gt(dropout).float();
  return mask.mul(X).div(1.0 - dropout);
}

const X = arange(16).float().reshape(2, 8);
console.log(String(X));
console.log(String(dropoutLayer(X, 0)));
console.log(String(dropoutLayer(X, 0.5)));
console.log(String(dropoutLayer(X, 1)));

// ---- Defining model parameters -------------------------------------------------------
const [numInputs, numOutputs, numHiddens1, numHiddens2] = [784, 10, 256, 256];
const [dropout1, dropout2] = [0.2, 0.5];

// ---- Defining the model --------------------------------------------------------------
class Net extends nn.Module {
  numInputs: number;
  lin1: nn.Linear; lin2: nn.Linear; lin3: nn.Linear; relu: nn.ReLU;
  constructor(numInputs: number, numOutputs: number, numHiddens1: number, numHiddens2: number, isTraining = true) {
    super();
    this.numInputs = numInputs;
    this.training = isTraining;
    this.lin1 = new nn.Linear(numInputs, numHiddens1);
    this.lin2 = new nn.Linear(numHiddens1, numHiddens2);
    this.lin3 = new nn.Linear(numHiddens2, numOutputs);
    this.relu = new nn.ReLU();
  }

  forward(X: Tensor) {
    let H1 = this.relu.forward(this.lin1.forward(X.reshape(-1, this.numInputs)));
    // Dropout only while training, after each hidden layer.
    if (this.training) H1 = dropoutLayer(H1, dropout1);
    let H2 = this.relu.forward(this.lin2.forward(H1));
    if (this.training) H2 = dropoutLayer(H2, dropout2);
    return this.lin3.forward(H2);
  }
}

let net: nn.Module = new Net(numInputs, numOutputs, numHiddens1, numHiddens2);

// ---- Training and testing ------------------------------------------------------------
const [numEpochs, lr, batchSize] = [Number(process.env.EPOCHS ?? 5), 0.5, 256];
const loss = new nn.CrossEntropyLoss({ reduction: "none" });
const [trainIter, testIter] = await loadDataFashionMnist(batchSize);
let trainer = new optim.SGD(net.parameters(), { lr });
trainCh3(net, trainIter, testIter, loss, numEpochs, trainer);

// ---- Concise implementation ----------------------------------------------------------
net = new nn.Sequential(
  new nn.Flatten(),
  new nn.Linear(784, 256),
  new nn.ReLU(),
  // A dropout layer after the first fully connected layer.
  new nn.Dropout(dropout1),
  new nn.Linear(256, 256),
  new nn.ReLU(),
  // A dropout layer after the second fully connected layer.
  new nn.Dropout(dropout2),
  new nn.Linear(256, 10),
);
for (const param of net.parameters()) nn.init.normal_(param, 0, 0.01);

trainer = new optim.SGD(net.parameters(), { lr });
trainCh3(net, trainIter, testIter, loss, numEpochs, trainer);
