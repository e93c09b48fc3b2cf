// Bad input everywhere: each case is one wrong call and the exact error it
// gets, worded as PyTorch words it where PyTorch has the same error. Where
// an error can leave state behind (a failed load, a failed step, a failed
// training step), the case also checks that nothing already computed is lost.

import { afterEach, describe, expect, it } from "vitest";
import {
  AnomalyError, arange, data, detectAnomaly, full, getRngState, isAnomalyEnabled, manualSeed, memoryStats, nn, noGrad,
  optim, randn, ReclaimedTensorError, setBackend, setDetectAnomaly, setRngState, tensor, zeros, type Tensor,
} from "../src/index.ts";

const F = nn.functional;

/** fn throws an error of class `kind` whose message contains `message`. */
function expectError(fn: () => unknown, kind: new (...args: never[]) => Error, message: string): void {
  expect(fn).toThrow(kind);
  expect(fn).toThrow(message);
}

const param = (shape: number[] = [2]) => zeros(shape, { requiresGrad: true });
const labels = (values: number[]) => tensor(values, { dtype: "int32" });

afterEach(() => {
  setBackend("wasm");
  setDetectAnomaly(false);
});

describe("shape and dtype errors in ops", () => {
  it("refuses matmul of [2, 3] and [4, 5], naming both shapes", () => {
    expectError(() => zeros([2, 3]).matmul(zeros([4, 5])), RangeError, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  });

  it("refuses the dot product of vectors of different lengths", () => {
    expectError(
      () => zeros([3]).matmul(zeros([4])), RangeError,
      "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and 4 elements respectively",
    );
  });

  it("refuses matmul with a 0-d tensor", () => {
    expectError(() => tensor(2).matmul(zeros([2, 2])), RangeError, "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
  });

  it("refuses a batched matmul whose batch dimensions differ", () => {
    expectError(
      () => zeros([2, 2, 3]).matmul(zeros([3, 3, 4])), RangeError,
      "matmul: batch dimensions of [2, 2, 3] and [3, 3, 4] must be equal",
    );
  });

  it("refuses matmul with an array instead of a tensor", () => {
    expectError(() => zeros([2, 1]).matmul([[1]] as never), TypeError, "matmul(): other must be a Tensor, got an array of 1");
  });

  it("refuses to broadcast [2, 3] with [4], naming the dimension", () => {
    expectError(
      () => zeros([2, 3]).add(zeros([4])), RangeError,
      "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1 (shapes [2, 3] and [4])",
    );
  });

  it("refuses arithmetic with a string", () => {
    expectError(() => zeros([2]).add("1" as never), TypeError, 'add(): other must be a Tensor or a number, got the string "1"');
  });

  it("refuses arithmetic with null", () => {
    expectError(() => zeros([2]).mul(null as never), TypeError, "mul(): other must be a Tensor or a number, got null");
  });

  it("refuses an in-place op that would have to grow its target", () => {
    expectError(() => zeros([3]).add_(zeros([2, 3])), RangeError, "output with shape [3] doesn't match the broadcast shape [2, 3]");
  });

  it("refuses in-place arithmetic on an int32 tensor", () => {
    expectError(() => labels([1, 2]).add_(1), TypeError, "in-place arithmetic needs a float32 tensor, not int32");
  });

  it("refuses to copy float32 values into an int32 tensor", () => {
    expectError(() => labels([1, 2]).copy_(zeros([2])), TypeError, "copy_(): cannot copy a float32 tensor into an int32 tensor");
  });

  it("refuses a view to a size that does not hold the elements", () => {
    expectError(() => zeros([2, 3]).view(4), RangeError, "shape '[4]' is invalid for input of size 6 (tensor of shape [2, 3])");
  });

  it("refuses a view with two inferred dimensions", () => {
    expectError(() => zeros([2, 3]).view(-1, -1), RangeError, "only one dimension can be inferred");
  });

  it("refuses a view whose inferred dimension would not be whole", () => {
    expectError(() => zeros([2, 3]).reshape(4, -1), RangeError, "shape '[4, -1]' is invalid for input of size 6");
  });

  it("refuses a view with a negative dimension other than -1", () => {
    expectError(() => zeros([2, 3]).view(-2, 3), RangeError, "invalid shape dimension -2 in [-2, 3]");
  });

  it("refuses a permutation that repeats a dimension", () => {
    expectError(() => zeros([2, 3]).permute(0, 0), RangeError, "permute(): dims [0, 0] are not a permutation of the 2 dimensions of [2, 3]");
  });

  it("refuses a permutation with a dimension out of range", () => {
    expectError(() => zeros([2, 3]).permute(0, 2), RangeError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  });

  it("refuses a transpose of a dimension out of range", () => {
    expectError(() => zeros([2, 3]).transpose(0, -3), RangeError, "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
  });

  it("refuses t() of a 3-d tensor", () => {
    expectError(() => zeros([2, 3, 4]).t(), RangeError, "t() expects a tensor with <= 2 dimensions, but self is 3D");
  });

  it("refuses a sum over a dimension out of range", () => {
    expectError(() => zeros([2, 3]).sum(2), RangeError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  });

  it("refuses a sum that names a dimension twice", () => {
    expectError(() => zeros([2, 3]).sum([1, -1]), RangeError, "dim 1, 1 appears multiple times in the list of dims");
  });

  it("refuses argmax of an empty tensor (the kernel alone would answer 0)", () => {
    expectError(() => zeros([0]).argmax(), RangeError, "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
  });

  it("refuses argmax along an empty dimension", () => {
    expectError(() => zeros([3, 0]).argmax(1), RangeError, "argmax(): Expected reduction dim 1 to have non-zero size.");
  });

  it("refuses max of an empty tensor", () => {
    expectError(() => zeros([0]).max(), RangeError, "max(): Expected reduction dim to be specified for input.numel() == 0.");
  });

  it("refuses max along an empty dimension (the kernel alone would answer -Infinity)", () => {
    expectError(() => zeros([0, 3]).max(0), RangeError, "max(): Expected reduction dim 0 to have non-zero size.");
  });

  it("still reduces an empty tensor along a non-empty dimension, to an empty result", () => {
    expect(zeros([0, 3]).argmax(1).shape).toEqual([0]);
  });

  it("refuses a norm other than 1 or 2", () => {
    expectError(() => zeros([3]).norm(3 as never), RangeError, "norm(): only p = 1 and p = 2 are supported, got 3");
  });

  it("refuses flatten with start after end", () => {
    expectError(() => zeros([2, 3]).flatten(1, 0), RangeError, "flatten() has invalid args: start_dim cannot come after end_dim");
  });

  it("refuses item() of a tensor with more than one element", () => {
    expectError(() => zeros([2]).item(), RangeError, "a Tensor with 2 elements cannot be converted to Scalar");
  });
});

describe("creating tensors", () => {
  it("refuses gradients for an int32 tensor", () => {
    expectError(() => zeros([2], { dtype: "int32", requiresGrad: true }), TypeError, "only float32 tensors can require gradients, not int32");
  });

  it("refuses ragged nested arrays", () => {
    expectError(() => tensor([[1, 2], [3]]), RangeError, "tensor(): expected sequence of length 2 at dim 1 (got 1)");
  });

  it("refuses nested arrays holding something other than numbers", () => {
    expectError(() => tensor([1, "a"] as never), TypeError, "tensor(): expected a number at depth 1, got string");
  });

  it("refuses a fraction in an int32 tensor", () => {
    expectError(() => tensor([1, 1.5], { dtype: "int32" }), TypeError, "tensor(): int32 tensor got non-integer value 1.5");
  });

  it("refuses an int32 value that would wrap around", () => {
    expectError(() => tensor([0, 2 ** 31], { dtype: "int32" }), RangeError, "tensor(): value 2147483648 is out of range for int32 (at flat index 1)");
  });

  it("refuses a dtype it does not have", () => {
    expectError(() => zeros([2], { dtype: "float64" as never }), TypeError, 'unsupported dtype "float64": expected "float32", "int32" or "bool"');
  });

  it("refuses a typed array whose length does not fit the shape", () => {
    expectError(() => tensor(new Float32Array(3), { shape: [2, 2] }), RangeError, "tensor(): shape [2, 2] needs 4 values, got 3");
  });

  it("refuses a negative dimension", () => {
    expectError(() => zeros([2, -1]), TypeError, "shape must be a list of non-negative integers, got [2, -1]");
  });

  it("refuses a fractional dimension", () => {
    expectError(() => zeros(1.5), TypeError, "shape must be a list of non-negative integers, got [1.5]");
  });

  it("refuses 2^31 floats (8 GiB) with a RangeError naming the size, and keeps working", () => {
    const before = memoryStats();
    expectError(() => zeros([2 ** 31]), RangeError, "cannot allocate 8.0 GiB (8589934592 bytes) for a tensor");
    expect(memoryStats().heapBytes).toBe(before.heapBytes);
    expect(tensor([1, 2]).sum().item()).toBe(3);
  });

  it("refuses arange with a zero step", () => {
    expectError(() => arange(0, 5, 0), RangeError, "arange: step must be nonzero");
  });

  it("refuses arange whose step points away from the end", () => {
    expectError(() => arange(0, 5, -1), RangeError, "arange: upper bound and larger bound inconsistent with step sign");
  });

  it("refuses arange with a non-finite bound", () => {
    expectError(() => arange(0, Infinity), RangeError, "arange: start, end and step must be finite");
  });

  it("refuses an integer arange past int32", () => {
    expectError(() => arange(2 ** 31 - 2, 2 ** 31 + 1), RangeError, "arange: values from 2147483646 to 2147483648 do not fit in int32");
  });

  it("refuses random values of dtype int32", () => {
    expectError(() => randn([2], { dtype: "int32" }), TypeError, "randn(): random values need dtype float32, got int32");
  });

  it("refuses to fill an int32 tensor with random floats' bits", () => {
    expectError(() => zeros([4], { dtype: "int32" }).uniform_(), TypeError, "uniform_(): only float32 tensors can be filled with random values, not int32");
  });

  it("refuses uniform_ with from > to", () => {
    expectError(() => zeros([2]).uniform_(1, 0), RangeError, "uniform_ expects to return a [from, to) range, but found from=1 > to=0");
  });

  it("refuses normal_ with a negative std", () => {
    expectError(() => zeros([2]).normal_(0, -1), RangeError, "normal expects std >= 0.0, but found std -1");
  });

  it("refuses random-fill bounds that are not numbers instead of filling with NaN (PyTorch's keyword std= written as an options object)", () => {
    const w = zeros([3, 2]);
    expectError(() => nn.init.normal_(w, { std: 0.01 } as never), TypeError,
      "normal_(): mean must be a number, got an object (mean and std are numbers, given in that order after the tensor)");
    expectError(() => w.uniform_(0, "1" as never), TypeError, 'uniform_(): to must be a number, got the string "1"');
    expect(w.toArray()).toEqual([[0, 0], [0, 0], [0, 0]]);
  });

  it("refuses to fill with something that is not a number", () => {
    expectError(() => full([2], "1" as never), TypeError, 'fill_(): value must be a number, got the string "1"');
  });
});

describe("nn modules and functions", () => {
  it("refuses a dropout probability above 1", () => {
    expectError(() => F.dropout(zeros([2]), 1.5), RangeError, "dropout probability has to be between 0 and 1, but got 1.5");
  });

  it("F.reluDropout refuses a bad probability and a non-tensor input", () => {
    expectError(() => F.reluDropout(zeros([2]), 1.5), RangeError, "dropout probability has to be between 0 and 1, but got 1.5");
    expectError(() => F.reluDropout(3 as never, 0.5), TypeError, "expected a Tensor as argument 0, got number 3");
  });

  it("refuses an nn.Dropout with a negative probability", () => {
    expectError(() => new nn.Dropout(-0.1), RangeError, "dropout probability has to be between 0 and 1, but got -0.1");
  });

  it("refuses a Linear layer with a negative size", () => {
    expectError(() => new nn.Linear(-1, 3), RangeError, "Linear: inFeatures must be a non-negative integer, got -1");
  });

  it("refuses a Linear layer with a fractional size", () => {
    expectError(() => new nn.Linear(3, 2.5), RangeError, "Linear: outFeatures must be a non-negative integer, got 2.5");
  });

  it("refuses a Linear input with the wrong number of features, as PyTorch words it", () => {
    expectError(() => new nn.Linear(3, 2).forward(zeros([2, 4])), RangeError, "mat1 and mat2 shapes cannot be multiplied (2x4 and 3x2)");
  });

  it("refuses an int32 weight in linear() (the gemm would read its bits as floats)", () => {
    expectError(() => F.linear(zeros([2, 3]), labels([1, 2, 3]).view(1, 3)), TypeError, "linear(): weight must be float32, got int32");
  });

  it("refuses float labels in CrossEntropyLoss", () => {
    expectError(
      () => new nn.CrossEntropyLoss().forward(zeros([2, 3]), tensor([0, 1])), TypeError,
      'crossEntropy(): expected int32 class indices as target, got float32 (make labels with { dtype: "int32" })',
    );
  });

  it("refuses CrossEntropyLoss labels for another batch size", () => {
    expectError(() => new nn.CrossEntropyLoss().forward(zeros([3, 4]), labels([0, 1])), RangeError, "Expected input batch_size (3) to match target batch_size (2).");
  });

  it("refuses a CrossEntropyLoss label past the last class", () => {
    expectError(() => new nn.CrossEntropyLoss().forward(zeros([2, 3]), labels([0, 3])), RangeError, "Target 3 is out of bounds (crossEntropy with 3 classes, at batch index 1).");
  });

  it("refuses a negative CrossEntropyLoss label", () => {
    expectError(() => new nn.CrossEntropyLoss().forward(zeros([2, 3]), labels([-1, 0])), RangeError, "Target -1 is out of bounds (crossEntropy with 3 classes, at batch index 0).");
  });

  it("refuses CrossEntropyLoss logits that are not [N, C]", () => {
    expectError(() => F.crossEntropy(zeros([2, 3, 4]), labels([0, 1])), RangeError, "crossEntropy(): expected logits of shape [N, C], got [2, 3, 4]");
  });

  it("refuses MSELoss of different shapes instead of broadcasting them", () => {
    expectError(() => new nn.MSELoss().forward(zeros([4, 1]), zeros([4])), RangeError, "mseLoss(): input shape [4, 1] and target shape [4] differ");
  });

  it("refuses an int32 MSELoss target (the kernel would read its bits as floats)", () => {
    expectError(() => F.mseLoss(zeros([3]), labels([1, 2, 3])), TypeError, "mseLoss(): target must be float32, got int32 (call .float())");
  });

  it("refuses an unknown reduction", () => {
    expectError(() => new nn.MSELoss({ reduction: "avg" as never }).forward(zeros([2]), zeros([2])), RangeError, 'avg is not a valid value for reduction: expected "mean", "sum" or "none"');
  });

  it("refuses a Sequential layer that is not a Module", () => {
    expectError(() => new nn.Sequential(new nn.ReLU(), 3 as never), TypeError, 'child module "1" must be a Module, got number 3');
  });

  it("refuses a Sequential index out of range", () => {
    expectError(() => new nn.Sequential(new nn.ReLU()).at(1), RangeError, "index 1 is out of range for a Sequential of 1 layers");
  });
});

describe("optimizer settings", () => {
  it("requires an SGD learning rate", () => {
    expectError(() => new optim.SGD([param()]), RangeError, "SGD: lr is required (e.g. new optim.SGD(params, { lr: 0.1 }))");
  });

  it("refuses a negative learning rate", () => {
    expectError(() => new optim.SGD([param()], { lr: -1 }), RangeError, "Invalid learning rate: -1");
  });

  it("refuses a NaN learning rate by name (not as a missing one)", () => {
    expectError(() => new optim.SGD([param()], { lr: NaN }), RangeError, "Invalid learning rate: NaN");
  });

  it("refuses an infinite learning rate", () => {
    expectError(() => new optim.SGD([param()], { lr: Infinity }), RangeError, "Invalid learning rate: Infinity");
  });

  it("refuses a learning rate given as a string (the kernel call would coerce it)", () => {
    expectError(() => new optim.SGD([param()], { lr: "0.1" as never }), RangeError, 'Invalid learning rate: the string "0.1"');
  });

  it("refuses a negative momentum", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, momentum: -0.5 }), RangeError, "Invalid momentum value: -0.5");
  });

  it("refuses a NaN dampening", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, momentum: 0.9, dampening: NaN }), RangeError, "Invalid dampening value: NaN");
  });

  it("refuses a negative weight decay", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, weightDecay: -1 }), RangeError, "Invalid weight_decay value: -1");
  });

  it("refuses a negative L1 penalty", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, l1: -1 }), RangeError, "Invalid l1 value: -1");
  });

  it("refuses Nesterov momentum without momentum", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, nesterov: true }), RangeError, "Nesterov momentum requires a momentum and zero dampening");
  });

  it("refuses a flag that is not a boolean", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, momentum: 0.9, nesterov: "yes" as never }), TypeError, 'SGD: nesterov must be true or false, got the string "yes"');
  });

  it("refuses PyTorch's snake_case spelling instead of ignoring it, and suggests the name", () => {
    expectError(() => new optim.SGD([param()], { lr: 0.1, weight_decay: 1e-4 } as never), TypeError, 'SGD: unknown setting "weight_decay" in options (did you mean "weightDecay"?)');
  });

  it("refuses another optimizer's setting in a parameter group", () => {
    expectError(
      () => new optim.SGD([{ params: [param()], betas: [0.9, 0.99] } as never], { lr: 0.1 }), TypeError,
      'SGD: unknown setting "betas" in parameter group 0 (SGD takes lr, momentum, dampening, weightDecay, nesterov, maximize, l1)',
    );
  });

  it("reads an undefined setting as the default", () => {
    const opt = new optim.SGD([{ params: [param()], weightDecay: undefined }], { lr: 0.1, momentum: undefined });
    expect(opt.paramGroups[0].weightDecay).toBe(0);
    expect(opt.paramGroups[0].momentum).toBe(0);
  });

  it("refuses a negative Adam learning rate", () => {
    expectError(() => new optim.Adam([param()], { lr: -1e-3 }), RangeError, "Invalid learning rate: -0.001");
  });

  it("refuses a negative Adam epsilon", () => {
    expectError(() => new optim.Adam([param()], { eps: -1 }), RangeError, "Invalid epsilon value: -1");
  });

  it("refuses beta1 = 1", () => {
    expectError(() => new optim.Adam([param()], { betas: [1, 0.999] }), RangeError, "Invalid beta parameter at index 0: 1");
  });

  it("refuses a negative beta2", () => {
    expectError(() => new optim.AdamW([param()], { betas: [0.9, -0.1] }), RangeError, "Invalid beta parameter at index 1: -0.1");
  });

  it("refuses betas that are not a pair", () => {
    expectError(() => new optim.Adam([param()], { betas: 0.9 as never }), TypeError, "Adam: betas must be a pair [beta1, beta2], got number 0.9");
  });

  it("refuses a negative AdamW weight decay", () => {
    expectError(() => new optim.AdamW([param()], { weightDecay: -0.01 }), RangeError, "Invalid weight_decay value: -0.01");
  });

  it("refuses an amsgrad flag that is not a boolean", () => {
    expectError(() => new optim.AdamW([param()], { amsgrad: 1 as never }), TypeError, "AdamW: amsgrad must be true or false, got number 1");
  });

  it("refuses SGD's momentum in Adam", () => {
    expectError(() => new optim.Adam([param()], { momentum: 0.9 } as never), TypeError, 'Adam: unknown setting "momentum" in options (Adam takes lr, betas, eps, weightDecay, amsgrad, maximize)');
  });
});

describe("optimizer parameters", () => {
  it("refuses an empty parameter list", () => {
    expectError(() => new optim.SGD([], { lr: 0.1 }), RangeError, "optimizer got an empty parameter list");
  });

  it("refuses a model in place of its parameters, and says what to pass", () => {
    expectError(
      () => new optim.SGD(new nn.Linear(2, 2) as never, { lr: 0.1 }), TypeError,
      "SGD: params must be an iterable of Tensors or of parameter groups, but got a Linear: pass model.parameters()",
    );
  });

  it("refuses a single tensor in place of a list", () => {
    expectError(() => new optim.Adam(param() as never), TypeError, "Adam: params must be an iterable of Tensors or of parameter groups, but got a Tensor: pass [tensor]");
  });

  it("refuses something that is not a tensor in the list", () => {
    expectError(() => new optim.SGD([param(), 3 as never], { lr: 0.1 }), TypeError, "optimizer can only optimize Tensors, but group 0 has number 3");
  });

  it("refuses a parameter group without params", () => {
    expectError(() => new optim.SGD([{ lr: 0.1 } as never], { lr: 0.1 }), TypeError, "parameter group 0 must be { params: Tensor[], … }, got an object");
  });

  it("refuses a non-leaf tensor", () => {
    expectError(() => new optim.SGD([param().mul(2)], { lr: 0.1 }), Error, "can't optimize a non-leaf Tensor");
  });

  it("refuses an int32 tensor", () => {
    expectError(() => new optim.SGD([labels([1, 2])], { lr: 0.1 }), TypeError, "optimizer can only optimize float32 Tensors, but group 0 has an int32 one");
  });

  it("refuses a parameter in two groups", () => {
    const p = param();
    expectError(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), Error, "some parameters appear in more than one parameter group");
  });

  it("refuses a gradient of another shape (a step would read it out of bounds)", () => {
    const p = param([5]);
    expectError(() => (p.grad = zeros([3])), RangeError, "assigned grad has data of a different size: grad is [3], the tensor is [5]");
  });

  it("refuses to step with a disposed parameter, before updating any other", () => {
    const [a, b] = [param(), param()];
    const opt = new optim.SGD([a, b], { lr: 1 });
    a.grad = tensor([1, 1]);
    b.grad = tensor([1, 1]);
    b.dispose();
    expectError(() => opt.step(), ReclaimedTensorError, "cannot be read: its memory was given back (it was disposed)");
    expect(Array.from(a.data())).toEqual([0, 0]);
  });
});

describe("autograd misuse", () => {
  it("refuses backward() of a non-scalar without a gradient", () => {
    expectError(() => param([3]).mul(2).backward(), Error, "grad can be implicitly created only for scalar outputs (this tensor has shape [3])");
  });

  it("refuses a second backward through a freed graph", () => {
    const loss = param([3]).square().sum();
    loss.backward();
    expectError(() => loss.backward(), Error, "Trying to backward through the graph a second time");
  });

  it("refuses backward() of a tensor that needs no gradient", () => {
    expectError(() => zeros([1]).backward(), Error, "element 0 of tensors does not require grad and does not have a gradFn");
  });

  it("refuses a backward gradient of another shape", () => {
    expectError(
      () => param([3]).mul(2).backward(zeros([2])), RangeError,
      "Mismatch in shape: grad_output[0] has a shape of [2] and output[0] has a shape of [3].",
    );
  });

  it("refuses an in-place op on a leaf that requires grad", () => {
    expectError(() => param().add_(1), Error, "a leaf Variable that requires grad is being used in an in-place operation (add_); wrap it in noGrad(() => …)");
  });

  it("detects an in-place change of a tensor saved for backward", () => {
    const w = param([3]);
    const x = randn([3]);
    const loss = w.mul(x).sum();
    x.mul_(2);
    expectError(() => loss.backward(), Error, "one of the variables needed for gradient computation has been modified by an inplace operation: [Tensor of shape [3]], output of or input to Mul, is at version 2; expected version 1 instead.");
  });

  it("refuses to change requiresGrad of a computed tensor", () => {
    expectError(() => (param().mul(2).requiresGrad = false), Error, "you can only change requiresGrad flags of leaf variables");
  });
});

describe("backends", () => {
  it("refuses to mix tensors made on the wasm and js backends", () => {
    const a = zeros([2]);
    setBackend("js");
    const b = zeros([2]);
    expectError(
      () => a.add(b), Error,
      "Expected all tensors to be on the same backend, but found at least two backends, wasm and js (tensors made before and after setBackend() cannot be mixed: copy one over with copy_())",
    );
  });

  it("refuses an unknown backend", () => {
    expectError(() => setBackend("webgpu" as never), TypeError, 'wasmgrad: unknown backend "webgpu": expected "wasm" or "js"');
  });
});

describe("data", () => {
  const dataset = () => new data.TensorDataset(zeros([4, 2]), labels([0, 1, 0, 1]));

  it("refuses batchSize 0", () => {
    expectError(() => new data.DataLoader(dataset(), { batchSize: 0 }), RangeError, "batchSize should be a positive integer value, but got batchSize=0");
  });

  it("refuses a negative batchSize", () => {
    expectError(() => new data.DataLoader(dataset(), { batchSize: -4 }), RangeError, "batchSize should be a positive integer value, but got batchSize=-4");
  });

  it("refuses a fractional batchSize", () => {
    expectError(() => new data.DataLoader(dataset(), { batchSize: 2.5 }), RangeError, "batchSize should be a positive integer value, but got batchSize=2.5");
  });

  it("refuses a tensor in place of a dataset (it used to iterate as zero batches)", () => {
    expectError(
      () => new data.DataLoader(zeros([4, 2]) as never), TypeError,
      "DataLoader: expected a Dataset (an integer length and get(i)), got a Tensor: wrap tensors in new data.TensorDataset(X, y)",
    );
  });

  it("refuses a shuffle flag that is not a boolean", () => {
    expectError(() => new data.DataLoader(dataset(), { shuffle: "true" as never }), TypeError, 'DataLoader: shuffle must be true or false, got the string "true"');
  });

  it("refuses TensorDataset tensors with different first dimensions", () => {
    expectError(() => new data.TensorDataset(zeros([4, 2]), labels([0, 1, 0])), RangeError, "Size mismatch between tensors: first dimensions are [4, 2], [3]");
  });

  it("refuses a TensorDataset of plain arrays", () => {
    expectError(() => new data.TensorDataset([1, 2] as never), TypeError, "TensorDataset: argument 0 is not a Tensor (got an array of 2): convert it with tensor()");
  });

  it("refuses an item index past the end", () => {
    expectError(() => dataset().get(4), RangeError, "index 4 is out of range for a dataset of 4 items");
  });
});

describe("random generator", () => {
  it("refuses a negative seed", () => {
    expectError(() => manualSeed(-1), RangeError, "manualSeed: seed must be a non-negative safe integer, got -1");
  });

  it("refuses a seed past 2^53", () => {
    expectError(() => manualSeed(2 ** 53), RangeError, "manualSeed: seed must be a non-negative safe integer, got 9007199254740992");
  });

  it("refuses a generator state that getRngState did not make, and keeps its own", () => {
    const before = getRngState();
    expectError(() => setRngState({ seed: [1, -1], offset: 0 } as never), TypeError, "setRngState: expected { seed: [two 32-bit unsigned integers], offset: a non-negative safe integer } from getRngState()");
    expect(getRngState()).toEqual(before);
  });
});

describe("loading a state dict (PyTorch's strict semantics)", () => {
  const net = () => new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));

  it("refuses missing keys, naming them", () => {
    const sd = net().stateDict();
    delete sd["2.bias"];
    expectError(() => net().loadStateDict(sd), Error, 'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "2.bias".');
  });

  it("refuses unexpected keys, naming them", () => {
    const sd = { ...net().stateDict(), "3.weight": zeros([1]) };
    expectError(() => net().loadStateDict(sd), Error, 'Unexpected key(s) in state_dict: "3.weight".');
  });

  it("refuses a tensor of another shape, naming both", () => {
    const sd = { ...net().stateDict(), "0.weight": zeros([3, 2]) };
    expectError(
      () => net().loadStateDict(sd), Error,
      "size mismatch for 0.weight: copying a param with shape [3, 2] from checkpoint, the shape in current model is [2, 3].",
    );
  });

  it("reports missing and unexpected keys instead of throwing when strict is false", () => {
    const sd: nn.StateDict = { "0.weight": zeros([2, 3]), extra: zeros([1]) };
    expect(net().loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ["0.bias", "2.weight", "2.bias"], unexpectedKeys: ["extra"] });
  });

  it("refuses a disposed tensor before copying anything, so the model is not left half loaded", () => {
    const target = net();
    const before = target.parameters().map((p) => Array.from(p.data()));
    const sd = net().stateDict();
    const gone = zeros([1]);
    gone.dispose();
    const withGone = { ...sd, "2.bias": gone };
    expectError(() => target.loadStateDict(withGone), Error, 'While copying the parameter named "2.bias", its tensor\'s memory was already reclaimed or disposed.');
    expect(target.parameters().map((p) => Array.from(p.data()))).toEqual(before);
  });
});

describe("reclaimed and disposed tensors", () => {
  /** A loss from a step that two later steps have reclaimed. */
  function staleLoss(): Tensor {
    const w = param([3]);
    const losses = [0, 1, 2].map(() => {
      const l = w.square().sum();
      l.backward();
      return l;
    });
    return losses[0];
  }

  it("refuses to read a step-scoped tensor two steps later, naming keep()", () => {
    expectError(() => staleLoss().item(), ReclaimedTensorError, "A temporary is given back at the end of the step after its last use (a step ends at backward() and at each DataLoader batch; in a loop without them, at its noGrad() callback or top-level forward()). Fix: call .keep() on it where you make it");
  });

  it("refuses to compute with a reclaimed tensor", () => {
    expectError(() => staleLoss().add(1), ReclaimedTensorError, "the float32 tensor of shape [] made by Sum (in a graph) cannot be read: its memory was given back (made by sum in step");
  });

  it("refuses a backward through a graph whose saved tensors were reclaimed", () => {
    const w = param([3]);
    const old = w.exp().sum();
    for (let i = 0; i < 2; i++) w.square().sum().backward();
    expectError(() => old.backward(), ReclaimedTensorError, "the float32 tensor of shape [3] made by Exp (in a graph) cannot be read: its memory was given back (made by exp in step");
  });

  it("refuses to use a disposed tensor", () => {
    const t = randn([3]);
    t.dispose();
    expectError(() => t.sum(), ReclaimedTensorError, "cannot be read: its memory was given back (it was disposed)");
  });

  it("prints a reclaimed tensor without reading it", () => {
    const t = randn([3]);
    t.dispose();
    expect(String(t)).toBe('tensor("<reclaimed>")');
  });
});

describe("NaN and Inf", () => {
  it("lets NaN flow through ops by default: no exception, NaN out, printed as NaN", () => {
    const y = tensor([-1, 1]).log().add(1);
    expect(Array.from(y.data())).toEqual([NaN, 1]);
    expect(String(y)).toBe("tensor([NaN,1])");
  });

  it("lets ±Inf flow through, printed as Infinity", () => {
    expect(String(tensor([100, 0]).exp().log())).toBe("tensor([Infinity,0])");
    expect(String(tensor([0]).log())).toBe("tensor([-Infinity])");
  });

  it("in anomaly mode, names the op whose forward made the first NaN", () => {
    setDetectAnomaly(true);
    const x = tensor([-1, 1]);
    expectError(() => x.exp().sub(1).log(), AnomalyError, "anomaly: Log produced NaN in its output of shape [2]");
  });

  it("in anomaly mode, says when a NaN came in with the data rather than from the op", () => {
    setDetectAnomaly(true);
    expectError(
      () => tensor([NaN, 1]).mul(2), AnomalyError,
      "anomaly: Mul produced NaN in its output of shape [2] (its input 0 already held NaN: it came from before this op, e.g. from the data)",
    );
  });

  it("in anomaly mode, names the backward function that returned the first NaN gradient", () => {
    setDetectAnomaly(true);
    // log(0) = −∞ is fine forward, and maximum clips it; backward, 0 · (1/0) is NaN.
    const x = tensor([0, 1], { requiresGrad: true });
    const loss = x.log().maximum(-1).sum();
    expectError(() => loss.backward(), AnomalyError, "Function 'LogBackward' returned nan values in its 0th output.");
  });

  it("in anomaly mode, names the optimizer step that made a parameter NaN", () => {
    setDetectAnomaly(true);
    const p = tensor([Infinity, 1], { requiresGrad: true });
    p.grad = tensor([1, 1]);
    const opt = new optim.SGD([param(), p], { lr: 0.1, weightDecay: 1 });
    expectError(() => opt.step(), AnomalyError, "anomaly: SGD step produced NaN in parameter 1 of shape [2]");
  });

  it("in anomaly mode, does not mistake ±Inf for NaN", () => {
    setDetectAnomaly(true);
    expect(tensor([Infinity, 1]).sum().item()).toBe(Infinity);
  });

  it("runs detectAnomaly(fn) in anomaly mode and restores the setting even when fn throws", () => {
    expect(() => detectAnomaly(() => tensor([-1]).sqrt())).toThrow("anomaly: Sqrt produced NaN in its output of shape [1]");
    expect(isAnomalyEnabled()).toBe(false);
    expect(Number.isNaN(tensor([-1]).sqrt().item())).toBe(true);
  });

  it("refuses an anomaly setting that is not a boolean", () => {
    expectError(() => setDetectAnomaly("on" as never), TypeError, "setDetectAnomaly: expected true or false, got on");
  });
});

describe("nothing already computed is lost", () => {
  function setup() {
    manualSeed(3);
    const X = randn([64, 5]);
    const y = tensor(Int32Array.from({ length: 64 }, (_, i) => i % 3), { dtype: "int32" });
    const net = new nn.Sequential(new nn.Linear(5, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const opt = new optim.SGD(net.parameters(), { lr: 0.2, momentum: 0.9 });
    const lossFn = new nn.CrossEntropyLoss();
    const step = (labelsOf = y) => {
      const loss = lossFn.forward(net.forward(X), labelsOf);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    };
    return { step, forward: () => lossFn.forward(net.forward(X), y) };
  }

  it("after a bad-label error mid-training, keeps the last loss readable and trains on", () => {
    const { step } = setup();
    let loss = step();
    for (let i = 0; i < 20; i++) loss = step();
    const before = loss.item();
    expect(() => step(labels(Array.from({ length: 64 }, () => 7)))).toThrow("Target 7 is out of bounds");
    expect(loss.item()).toBe(before);
    for (let i = 0; i < 20; i++) loss = step();
    expect(loss.item()).toBeLessThan(before);
  });

  it("after an anomaly stops a backward halfway, trains on once anomaly mode is off", () => {
    const { step, forward } = setup();
    const first = step().item();
    // A term that adds 0 to the loss, and whose backward makes a NaN (see the LogBackward case above).
    const x = tensor([0, 1], { requiresGrad: true });
    const loss = forward().add(x.log().maximum(-1).sum().mul(0));
    setDetectAnomaly(true);
    expect(() => loss.backward()).toThrow("Function 'LogBackward' returned nan values in its 0th output.");
    setDetectAnomaly(false);
    let last = step();
    for (let i = 0; i < 20; i++) last = step();
    expect(last.item()).toBeLessThan(first);
  });
});
