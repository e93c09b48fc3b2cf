// Modules as PyTorch builds them: what fields register, under which names, in which
// order, and how the tree prints. The names and reprs are PyTorch 1.13's, from
// tools/make_module_fixtures.py (test/fixtures/torch/modules.json).

import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { nn, ones, tensor, zeros, type Tensor } from "../src/index.ts";
import { pyFloat } from "../src/nn/repr.ts";

interface Described {
  repr: string;
  state_dict: string[];
  parameters: string[];
  buffers: string[];
  modules: string[];
  children: string[];
}
const fixtures = JSON.parse(readFileSync(new URL("./fixtures/torch/modules.json", import.meta.url), "utf8")).models as Record<string, Described>;

/** d2l's dropout Net: layers assigned in the constructor, as the book's __init__ does. */
class DropoutNet extends nn.Module {
  numInputs: number;
  lin1: nn.Linear;
  lin2: nn.Linear;
  lin3: nn.Linear;
  relu: nn.ReLU;
  constructor(numInputs = 784, numOutputs = 10, numHiddens1 = 256, numHiddens2 = 256, isTraining = true) {
    super();
    this.numInputs = numInputs;
    this.training = isTraining;
    this.lin1 = new nn.Linear(numInputs, numHiddens1);
    this.lin2 = new nn.Linear(numHiddens1, numHiddens2);
    this.lin3 = new nn.Linear(numHiddens2, numOutputs);
    this.relu = new nn.ReLU();
  }
  forward(x: Tensor): Tensor {
    return this.lin3.forward(this.relu.forward(this.lin2.forward(this.relu.forward(this.lin1.forward(x)))));
  }
}

/** Fields of every kind, written as class fields. */
class Mixed extends nn.Module {
  fc1 = new nn.Linear(3, 4);
  act = new nn.ReLU();
  blocks = new nn.ModuleList([new nn.Linear(4, 4), new nn.Dropout(0.5)]);
  w = nn.Parameter(zeros([2]));
  running = this.registerBuffer("running", zeros([2]))!;
  scratch = this.registerBuffer("scratch", zeros([1]), false)!;
  seq = new nn.Sequential(new nn.Flatten(), new nn.Linear(2, 2, { bias: false }));
  forward(x: Tensor): Tensor {
    return this.fc1.forward(x);
  }
}

class Shared extends nn.Module {
  enc = new nn.Linear(2, 2);
  dec = this.enc;
  head = new nn.Linear(2, 1);
  forward(x: Tensor): Tensor {
    return this.head.forward(this.dec.forward(this.enc.forward(x)));
  }
}

class Empty extends nn.Module {
  // `declare`: a declared field would take its place at declaration, before the registrations.
  declare out: nn.Linear;
  constructor() {
    super();
    this.registerParameter("p", null);
    this.registerBuffer("b", null);
    this.registerModule("m", null);
    this.out = new nn.Linear(1, 1);
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(x);
  }
}

const models: Record<string, () => nn.Module> = {
  d2l_mlp: () =>
    new nn.Sequential(
      new nn.Flatten(),
      new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2),
      new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.5),
      new nn.Linear(256, 10),
    ),
  d2l_dropout_net: () => new DropoutNet(),
  weight_decay_linear: () => new nn.Sequential(new nn.Linear(200, 1)),
  mixed: () => new Mixed(),
  shared: () => new Shared(),
  empty_slots: () => new Empty(),
  nested: () =>
    new nn.Sequential(
      new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU()),
      new nn.ModuleList([new nn.Linear(3, 3), new nn.Flatten(0, -1)]),
      new nn.Dropout(0.0),
    ),
  module_list: () => new nn.ModuleList(),
};

describe("module trees, against PyTorch 1.13", () => {
  it("the fixture and the test build the same models", () => {
    expect(Object.keys(models)).toEqual(Object.keys(fixtures));
  });

  for (const [name, make] of Object.entries(models)) {
    describe(name, () => {
      const model = make();
      const want = fixtures[name]!;
      it("prints PyTorch's repr with String(module)", () => expect(String(model)).toBe(want.repr));
      it("has PyTorch's stateDict keys in PyTorch's order", () => expect(Object.keys(model.stateDict())).toEqual(want.state_dict));
      it("names parameters and buffers as PyTorch does", () => {
        expect(model.namedParameters().map(([n]) => n)).toEqual(want.parameters);
        expect(model.namedBuffers().map(([n]) => n)).toEqual(want.buffers);
      });
      it("walks modules and children as PyTorch does", () => {
        expect(model.namedModules().map(([n]) => n)).toEqual(want.modules);
        expect(model.namedChildren().map(([n]) => n)).toEqual(want.children);
      });
    });
  }
});

describe("fields of a Module subclass", () => {
  it("class fields and constructor assignments both register, and eval() reaches a Dropout in a ModuleList field", () => {
    const m = new Mixed();
    expect(m.parameters()).toContain(m.fc1.weight);
    m.eval();
    expect(m.blocks.at(1).training).toBe(false);
    expect(new DropoutNet().parameters()).toHaveLength(6);
  });

  it("a field set to a plain tensor or an array of modules is not registered, as in PyTorch", () => {
    class Plain extends nn.Module {
      t = ones([2], { requiresGrad: true });
      list = [new nn.Linear(1, 1)];
      forward(x: Tensor) {
        return x;
      }
    }
    expect(new Plain().parameters()).toEqual([]);
    expect(new Plain().children()).toEqual([]);
  });

  it("reassigning a field replaces the module in its place", () => {
    const m = new Shared();
    const fresh = new nn.Linear(2, 2);
    m.enc = fresh;
    expect(m.namedChildren()).toEqual([["enc", fresh], ["dec", m.dec], ["head", m.head]]);
  });

  it("loadStateDict restores parameters and persistent buffers of fields", () => {
    const a = new Mixed();
    a.running.copy_(tensor([1, 2]));
    const b = new Mixed();
    b.loadStateDict(a.stateDict());
    expect(b.running.toArray()).toEqual([1, 2]);
    expect(b.fc1.weight.toArray()).toEqual(a.fc1.weight.toArray());
    expect(() => b.loadStateDict({ ...a.stateDict(), scratch: zeros([1]) })).toThrow('Unexpected key(s) in state_dict: "scratch".');
  });
});

describe("nn.Parameter", () => {
  it("is a leaf that requires grad over the same memory, leaving the tensor passed in as it was", () => {
    const t = zeros([2]);
    const p = nn.Parameter(t);
    expect([p.requiresGrad, p.isLeaf, t.requiresGrad]).toEqual([true, true, false]);
    t.add_(1);
    expect(p.toArray()).toEqual([1, 1]);
    expect(nn.Parameter(t, false).requiresGrad).toBe(false);
  });

  it("answers instanceof, and works with new as well", () => {
    expect(nn.Parameter(zeros([1])) instanceof nn.Parameter).toBe(true);
    expect(new nn.Parameter(zeros([1])) instanceof nn.Parameter).toBe(true);
    expect(zeros([1]) instanceof nn.Parameter).toBe(false);
  });
});

describe("walking and changing the tree", () => {
  it("apply() visits children before their parent, once each", () => {
    const seen: string[] = [];
    new Shared().apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(["Linear", "Linear", "Shared"]);
  });

  it("requiresGrad_(false) freezes every parameter and returns the module", () => {
    const m = new Mixed();
    expect(m.requiresGrad_(false)).toBe(m);
    expect(m.parameters().some((p) => p.requiresGrad)).toBe(false);
  });

  it("console.log prints the repr, as print(net) does", () => {
    expect(inspect(new nn.Sequential(new nn.ReLU()))).toBe("Sequential(\n  (0): ReLU()\n)");
  });

  it("writes floats in reprs as Python does", () => {
    expect([1e-5, 0.1, 1, 0, 1e16, 123.5, -2e-7].map(pyFloat)).toEqual(["1e-05", "0.1", "1.0", "0.0", "1e+16", "123.5", "-2e-07"]);
  });
});

describe("bad registrations", () => {
  it("refuse names PyTorch refuses", () => {
    const m = new Mixed();
    expect(() => m.registerBuffer("a.b", zeros([1]))).toThrow('buffer name can\'t contain ".", got: a.b');
    expect(() => m.registerParameter("", null)).toThrow('parameter name can\'t be empty string ""');
    expect(() => m.registerModule("training", new nn.ReLU())).toThrow("attribute 'training' already exists");
  });

  it("refuse a computed tensor as a parameter and a number as a buffer", () => {
    const m = new Mixed();
    const computed = ones([1], { requiresGrad: true }).mul(2);
    expect(() => m.registerParameter("q", computed)).toThrow("Cannot assign non-leaf Tensor to parameter 'q'");
    expect(() => m.registerBuffer("q", 3 as never)).toThrow("cannot assign number 3 to buffer 'q' (Tensor or null required)");
  });

  it("ModuleList has no forward, and says where to call its modules", () => {
    expect(() => new nn.ModuleList().forward()).toThrow("ModuleList has no forward()");
  });
});
