// The text of `wasmgrad --help` and `wasmgrad <command> --help`.

import type { CommandName } from "./commands.ts";

const COMMON_HELP = `Common options:
  --json                one JSON object per line on stdout: one per epoch, then a summary
  --plot FILE.svg       write the book's figures as an SVG file
  --seed N              random seed, a non-negative integer (default 0)
  --backend wasm|js     the compute backend (default wasm)
  -q, --quiet           no progress bar and no notes on stderr
  -h, --help            this help`;

export const HELP: Record<"main" | CommandName, string> = {
  main: `wasmgrad: the "Dive into Deep Learning" weight decay and dropout experiments, on a WebAssembly core

Usage: wasmgrad [command] [options]

Commands:
  weight-decay   high-dimensional linear regression with an L2 or L1 penalty
  dropout        the 784-256-256-10 MLP with dropout on Fashion-MNIST
  lenet          d2l's LeNet (sigmoid, average pooling) on Fashion-MNIST
  demo           both chapters with the book's settings (the default)

Run "wasmgrad <command> --help" for a command's options; "wasmgrad --version" for the version.
Results go to stdout (tables, or JSON lines with --json); progress and notes go to stderr.
Ctrl-C stops after the current batch and prints the results so far (exit code 130).
Exit codes: 0 done, 1 failed, 2 bad arguments, 130 interrupted.`,

  "weight-decay": `wasmgrad weight-decay: d2l "Weight decay", a linear regression with 200 inputs and 20 training examples

Usage: wasmgrad weight-decay [options]

Trains w (200 inputs, ~N(0,1) start) and b by SGD once per λ on the same data,
then reports train/test loss (mean (ŷ−y)²/2, without the penalty), ‖w‖ and the
share of |w| < 1e-3, next to PyTorch 1.13's range where the settings are the book's.

Options:
  --lambd LIST          penalty strengths λ ≥ 0, comma-separated or repeated (default 0,3)
  --penalty l2|l1       l2: λ·‖w‖²/2, l1: λ·Σ|w| (default l2)
  --via loss|optimizer  add the penalty to the loss (the book's from-scratch way) or let
                        SGD apply it (weightDecay / l1, weight only) (default loss)
  --epochs N            epochs per λ (default 100)
  --lr X                learning rate (default 0.003)
  --batch-size N        minibatch size (default 1)

${COMMON_HELP}

Examples:
  wasmgrad weight-decay --lambd 0,3 --plot weight-decay.svg
  wasmgrad weight-decay --penalty l1 --lambd 0.1,1,3
  wasmgrad weight-decay --via optimizer --lambd 3 --json`,

  dropout: `wasmgrad dropout: d2l "Dropout", a 784-H1-H2-10 MLP with dropout on Fashion-MNIST

Usage: wasmgrad dropout [options]

Flatten → Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear, all
parameters N(0, 0.01). Prints train loss/accuracy (train mode, before each step)
and test accuracy (eval mode) per epoch, next to PyTorch 1.13's range where the
settings and the data set are the book's.

Options:
  --dropout P[,P]       dropout probabilities of the two hidden layers, in [0, 1]
                        (one value for both) (default 0.2,0.5)
  --hidden N,N          sizes of the two hidden layers (default 256,256)
  --optimizer NAME      sgd, adam or adamw (default sgd)
  --lr X                learning rate (default 0.5 for sgd, 0.001 for adam/adamw)
  --momentum X          SGD momentum (default 0)
  --weight-decay X      weight decay on the weights, not the biases
                        (default 0; adamw: 0.01, PyTorch's)
  --l1 X                SGD's L1 penalty λ·Σ|w| on the weights (default 0)
  --batch-size N        minibatch size (default 256)
  --epochs N            epochs (default 5)
  --threads N           threads for the wasm backend's kernels (results are bitwise
                        the same for every N) (default: the logical CPUs, at most 8)
  --data DIR            directory with the four Fashion-MNIST IDX files (.gz or not);
                        default $FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist,
                        else the bundled 6000/1000-image subset
  --save FILE           save the trained model (its state dict, PyTorch's names:
                        1.weight, 1.bias, 4.weight, …) as a .safetensors file,
                        also when stopped with Ctrl-C

${COMMON_HELP}

Examples:
  wasmgrad dropout --plot dropout.svg
  wasmgrad dropout --dropout 0,0 --epochs 10
  wasmgrad dropout --optimizer adam --lr 0.001 --weight-decay 1e-4`,

  lenet: `wasmgrad lenet: d2l "Convolutional Neural Networks (LeNet)" on Fashion-MNIST

Usage: wasmgrad lenet [options]

Conv2d(1,6,5,pad 2) → Sigmoid → AvgPool2d(2) → Conv2d(6,16,5) → Sigmoid →
AvgPool2d(2) → Flatten → Linear(400,120) → Sigmoid → Linear(120,84) → Sigmoid →
Linear(84,10), Xavier-uniform weights, SGD, cross-entropy. With the book's
settings on the full data set each epoch is shown next to PyTorch 1.13's range
over 3 seeds.

Options:
  --lr X                learning rate (default 0.9, the book's)
  --batch-size N        minibatch size (default 256)
  --epochs N            epochs (default 10)
  --threads N           run the wasm backend's kernels on N threads (bitwise the same
                        results; default: the logical CPUs, at most 8)
  --data DIR            directory with the Fashion-MNIST IDX files (default: the installed
                        set, else the bundled subset)
  --save FILE           write the trained model as safetensors (PyTorch's names)

${COMMON_HELP}

Examples:
  wasmgrad lenet --plot lenet.svg
  wasmgrad lenet --epochs 2 --threads 2`,

  demo: `wasmgrad demo: both chapters with the book's settings (the default command)

Usage: wasmgrad [demo] [options]

Runs the six weight-decay variants of the chapter (100 epochs each), dropout from
scratch on a small tensor, and the dropout MLP on Fashion-MNIST (SGD lr 0.5,
batch 256), each next to PyTorch 1.13's range.

Options:
  --epochs N            epochs of the MLP (default 5, the book's)
  --data DIR            directory with the Fashion-MNIST IDX files (see wasmgrad dropout --help)

${COMMON_HELP}`,
};
