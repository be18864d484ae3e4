/**
 * Optimizers as pure update rules over graph tensors. An optimizer names its state slots
 * (e.g. Adam's `m` and `v`) and builds, for one param, the new param and new state from
 * the gradient, the learning rate and the 1-based step, all as graph nodes, so the whole
 * update is compiled into the training step.
 */
import type { AnyTensor } from "../tensor.js";
import { add, div, maximum, minimum, mul, pow, sqrt, square, sub } from "../dsl/elementwise.js";
import { sum } from "../dsl/reduce.js";

/** What one param's update sees. `lr` and `step` are scalar tensors of the param's dtype. */
export interface UpdateContext {
  readonly param: AnyTensor;
  readonly grad: AnyTensor;
  readonly state: Readonly<Record<string, AnyTensor>>;
  readonly lr: AnyTensor;
  readonly step: AnyTensor;
}

export interface UpdateResult {
  readonly param: AnyTensor;
  readonly state: Readonly<Record<string, AnyTensor>>;
}

/** A pure update rule with named per-param state slots (each slot starts at zeros). */
export interface Optimizer {
  readonly name: string;
  readonly slots: readonly string[];
  readonly update: (ctx: UpdateContext) => UpdateResult;
}

/**
 * Plain gradient descent: p ← p - lr·g.
 * @example const opt = sgd();
 */
export const sgd = (): Optimizer => ({
  name: "sgd",
  slots: [],
  update: ({ param, grad, lr }) => ({ param: sub(param, mul(lr, grad)), state: {} }),
});

/** Heavy-ball momentum: v ← μ·v + g; p ← p - lr·v. */
export const momentum = (mu = 0.9): Optimizer => ({
  name: "momentum",
  slots: ["velocity"],
  update: ({ param, grad, state, lr }) => {
    const v = add(mul(state.velocity!, mu), grad);
    return { param: sub(param, mul(lr, v)), state: { velocity: v } };
  },
});

/** Nesterov momentum: v ← μ·v + g; p ← p - lr·(g + μ·v). */
export const nesterov = (mu = 0.9): Optimizer => ({
  name: "nesterov",
  slots: ["velocity"],
  update: ({ param, grad, state, lr }) => {
    const v = add(mul(state.velocity!, mu), grad);
    return { param: sub(param, mul(lr, add(grad, mul(v, mu)))), state: { velocity: v } };
  },
});

export interface AdamOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

const adamCore = (ctx: UpdateContext, o: AdamOptions): { m: AnyTensor; v: AnyTensor; direction: AnyTensor } => {
  const [b1, b2, eps] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.epsilon ?? 1e-8];
  const m = add(mul(ctx.state.m!, b1), mul(ctx.grad, 1 - b1));
  const v = add(mul(ctx.state.v!, b2), mul(square(ctx.grad), 1 - b2));
  const mHat = div(m, sub(1, pow(b1, ctx.step)));
  const vHat = div(v, sub(1, pow(b2, ctx.step)));
  return { m, v, direction: div(mHat, add(sqrt(vHat), eps)) };
};

/** Adam (Kingma & Ba), with bias correction. */
export const adam = (options: AdamOptions = {}): Optimizer => ({
  name: "adam",
  slots: ["m", "v"],
  update: (ctx) => {
    const { m, v, direction } = adamCore(ctx, options);
    return { param: sub(ctx.param, mul(ctx.lr, direction)), state: { m, v } };
  },
});

/** AdamW: Adam with decoupled weight decay, p ← p - lr·(adam direction + λ·p). */
export const adamw = (options: AdamOptions & { readonly weightDecay?: number } = {}): Optimizer => ({
  name: "adamw",
  slots: ["m", "v"],
  update: (ctx) => {
    const { m, v, direction } = adamCore(ctx, options);
    const decay = mul(ctx.param, options.weightDecay ?? 0.01);
    return { param: sub(ctx.param, mul(ctx.lr, add(direction, decay))), state: { m, v } };
  },
});

/** RMSProp: s ← ρ·s + (1-ρ)·g²; p ← p - lr·g / (√s + ε). */
export const rmsprop = (options: { readonly rho?: number; readonly epsilon?: number } = {}): Optimizer => ({
  name: "rmsprop",
  slots: ["meanSquare"],
  update: ({ param, grad, state, lr }) => {
    const rho = options.rho ?? 0.9;
    const s = add(mul(state.meanSquare!, rho), mul(square(grad), 1 - rho));
    return { param: sub(param, div(mul(lr, grad), add(sqrt(s), options.epsilon ?? 1e-8))), state: { meanSquare: s } };
  },
});

/**
 * Scales all gradients by min(1, maxNorm / ‖g‖) where ‖g‖ is the global L2 norm over
 * every gradient, so the update direction is kept and its length bounded.
 */
export const clipByGlobalNorm = (grads: readonly AnyTensor[], maxNorm: number): AnyTensor[] => {
  if (grads.length === 0) return [];
  const squares = grads.map((g) => sum(square(g)));
  const total = squares.slice(1).reduce<AnyTensor>((acc, s) => add(acc, s), squares[0]!);
  const norm = sqrt(total);
  const scale = minimum(div(maxNorm, maximum(norm, 1e-12)), 1);
  return grads.map((g) => mul(g, scale));
};

/** Learning-rate schedules: pure functions of the 1-based step. */
export type Schedule = (step: number) => number;

/** A constant rate. */
export const constantSchedule = (lr: number): Schedule => () => lr;

/** Multiplies the rate by `gamma` every `every` steps. */
export const stepSchedule = (lr: number, every: number, gamma: number): Schedule => (step) => lr * gamma ** Math.floor((step - 1) / every);

/** Cosine decay from `lr` to `minLr` over `total` steps, then `minLr`. */
export const cosineSchedule = (lr: number, total: number, minLr = 0): Schedule => (step) =>
  step >= total ? minLr : minLr + 0.5 * (lr - minLr) * (1 + Math.cos((Math.PI * (step - 1)) / total));

/** Linear warmup from ~0 to the wrapped schedule's rate over `warmup` steps. */
export const linearWarmup = (warmup: number, after: Schedule): Schedule => (step) =>
  step <= warmup ? (after(step) * step) / warmup : after(step);

