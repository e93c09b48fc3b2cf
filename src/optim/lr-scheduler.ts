// Learning-rate schedulers (torch.optim.lr_scheduler), PyTorch 1.13's
// semantics: the constructor takes the first step (epoch 0), each step()
// moves one epoch on, and every parameter group follows its own base lr. The
// "chainable" forms are used, as in PyTorch, so the numbers are PyTorch's to
// the last bit where JS and Python agree on cos and pow.

import { describeValue } from "../graph.ts";
import { Optimizer } from "./optimizer.ts";

/** The lr each group had when its first scheduler was made (PyTorch's group["initial_lr"], kept out of the group's settings). */
const initialLrs = new WeakMap<object, number>();

/** Fields that are no part of a scheduler's state: its optimizer, its name, LambdaLR's functions. */
const NOT_STATE = new Set(["optimizer", "name", "lambdas"]);

/** What a scheduler's stateDict() holds: its epoch, base rates and last rates, plus its own settings. */
export type SchedulerStateDict = { lastEpoch: number; baseLrs: number[]; lastLr: number[] } & Record<string, unknown>;

/**
 * The base of the schedulers (torch.optim.lr_scheduler._LRScheduler). A
 * subclass computes the next rates in getLr(), reading this.lastEpoch (the
 * epoch being entered), this.baseLrs and the groups' current lr.
 */
export abstract class LRScheduler {
  /** The epoch the last step() entered: 0 after the constructor. */
  lastEpoch = -1;
  /** Each group's lr before any scheduler changed it. */
  readonly baseLrs: number[];
  protected stepCount = 0;
  private lastLr: number[] = [];

  constructor(readonly optimizer: Optimizer<object, object>, protected readonly name: string) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: ${describeValue(optimizer)} is not an Optimizer`);
    this.baseLrs = this.groups().map((g, i) => {
      if (typeof g.lr !== "number") throw new TypeError(`${name}: parameter group ${i} has no numeric lr to schedule (got ${describeValue(g.lr)})`);
      if (!initialLrs.has(g)) initialLrs.set(g, g.lr);
      return initialLrs.get(g)!;
    });
  }

  /** Subclasses call this last in their constructor: PyTorch's initial step to epoch 0. */
  protected start(): void {
    this.step();
  }

  /** The rates for the epoch this.lastEpoch, from the groups' current ones. */
  protected abstract getLr(): number[];

  /** Moves to the next epoch and sets each group's lr. Call it after optimizer.step(), once an epoch (or as your schedule counts). */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const lrs = this.getLr();
    this.groups().forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = this.groups().map((g) => g.lr as number);
  }

  /** The rates the last step() set, one per parameter group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The scheduler's position and settings (lrLambda functions are not included, as in PyTorch). */
  stateDict(): SchedulerStateDict {
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) if (!NOT_STATE.has(k)) own[k] = Array.isArray(v) ? [...v] : v;
    return { ...own, lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] } as SchedulerStateDict;
  }

  /** Restores a stateDict() of the same kind of scheduler (the optimizer's lr comes from its own loadStateDict). */
  loadStateDict(sd: SchedulerStateDict): void {
    if (!sd || typeof sd !== "object" || typeof sd.lastEpoch !== "number" || !Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.baseLrs.length) {
      throw new TypeError(`${this.name}: expected a stateDict() of a scheduler over ${this.baseLrs.length} parameter group(s), got ${describeValue(sd)}`);
    }
    for (const [k, v] of Object.entries(sd)) {
      if (k === "baseLrs") this.baseLrs.splice(0, this.baseLrs.length, ...(v as number[]));
      else if (k === "lastLr") this.lastLr = [...(v as number[])];
      else if (Object.hasOwn(this, k) && !NOT_STATE.has(k)) (this as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
    }
  }

  protected groups(): Record<string, unknown>[] {
    return this.optimizer.paramGroups as unknown as Record<string, unknown>[];
  }
  protected currentLrs(): number[] {
    return this.groups().map((g) => g.lr as number);
  }
}

/** The options object, with unknown names refused (a PyTorch spelling such as step_size would otherwise be ignored). */
function options<T extends object>(name: string, given: unknown, known: (keyof T & string)[]): Partial<T> {
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError(`${name}: options must be an object (${known.join(", ")}), got ${describeValue(given)}`);
  }
  for (const k of Object.keys(given)) {
    if (!(known as string[]).includes(k)) throw new TypeError(`${name}: unknown option "${k}" (${name} takes ${known.join(", ")})`);
  }
  return given as Partial<T>;
}

function finite(name: string, what: string, v: unknown, ok: (x: number) => boolean = () => true, hint = "a finite number"): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${name}: ${what} must be ${hint}, got ${typeof v === "number" ? v : describeValue(v)}`);
  return v;
}

const positiveInt = (x: number) => Number.isInteger(x) && x > 0;

/** Multiplies each group's lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<object, object>, opts: { stepSize: number; gamma?: number }) {
    super(optimizer, "StepLR");
    const o = options<{ stepSize: number; gamma: number }>("StepLR", opts, ["stepSize", "gamma"]);
    this.stepSize = finite("StepLR", "stepSize", o.stepSize, positiveInt, "a positive integer");
    this.gamma = finite("StepLR", "gamma", o.gamma ?? 0.1);
    this.start();
  }
  protected getLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
}

/** Multiplies each group's lr by gamma at each milestone epoch (twice at a milestone listed twice). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: Optimizer<object, object>, opts: { milestones: number[]; gamma?: number }) {
    super(optimizer, "MultiStepLR");
    const o = options<{ milestones: number[]; gamma: number }>("MultiStepLR", opts, ["milestones", "gamma"]);
    if (!Array.isArray(o.milestones)) throw new TypeError(`MultiStepLR: milestones must be an array of epochs, got ${describeValue(o.milestones)}`);
    this.milestones = o.milestones.map((m) => finite("MultiStepLR", "each milestone", m, (x) => Number.isInteger(x) && x >= 0, "a non-negative integer")).sort((a, b) => a - b);
    this.gamma = finite("MultiStepLR", "gamma", o.gamma ?? 0.1);
    this.start();
  }
  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    const lrs = this.currentLrs();
    return hits === 0 ? lrs : lrs.map((lr) => lr * this.gamma ** hits);
  }
}

/** Multiplies each group's lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: Optimizer<object, object>, opts: { gamma: number }) {
    super(optimizer, "ExponentialLR");
    const o = options<{ gamma: number }>("ExponentialLR", opts, ["gamma"]);
    this.gamma = finite("ExponentialLR", "gamma", o.gamma);
    this.start();
  }
  protected getLr(): number[] {
    const lrs = this.currentLrs();
    return this.lastEpoch === 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }
}

/**
 * Cosine annealing from each base lr to etaMin over tMax epochs (and back up
 * over the next tMax, as PyTorch's recursive form does past tMax).
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<object, object>, opts: { tMax: number; etaMin?: number }) {
    super(optimizer, "CosineAnnealingLR");
    const o = options<{ tMax: number; etaMin: number }>("CosineAnnealingLR", opts, ["tMax", "etaMin"]);
    this.tMax = finite("CosineAnnealingLR", "tMax", o.tMax, positiveInt, "a positive integer");
    this.etaMin = finite("CosineAnnealingLR", "etaMin", o.etaMin ?? 0);
    this.start();
  }
  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const lrs = this.currentLrs();
    if (e === 0) return lrs;
    if ((e - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin);
  }
}

/** Sets each group's lr to its base lr times lrLambda(epoch): one function, or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];
  constructor(optimizer: Optimizer<object, object>, opts: { lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[] }) {
    super(optimizer, "LambdaLR");
    const o = options<{ lrLambda: unknown }>("LambdaLR", opts, ["lrLambda"]);
    const n = this.baseLrs.length;
    const given = o.lrLambda;
    if (Array.isArray(given) && given.length !== n) throw new RangeError(`LambdaLR: Expected ${n} lr_lambdas, but got ${given.length}`);
    const lambdas = Array.isArray(given) ? given : new Array(n).fill(given);
    lambdas.forEach((f, i) => {
      if (typeof f !== "function") throw new TypeError(`LambdaLR: lrLambda${Array.isArray(given) ? `[${i}]` : ""} must be a function of the epoch, got ${describeValue(f)}`);
    });
    this.lambdas = lambdas;
    this.start();
  }
  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => {
      const factor = this.lambdas[i](this.lastEpoch);
      if (typeof factor !== "number") throw new TypeError(`LambdaLR: lrLambda(${this.lastEpoch}) returned ${describeValue(factor)}, not a number`);
      return base * factor;
    });
  }
}
