/**
 * Input attributions as graph functions: which input elements a model's output depends
 * on. Each function takes the model's output tensor, the input leaf it was built from and
 * a target (which output to explain), and returns new graph nodes typed like the input,
 * to build and run like any other graph (with the params and the input fed).
 *
 * - `saliency`: the gradient ∂F/∂x (Simonyan et al. 2014), optionally its magnitude;
 * - `gradientTimesInput`: x ⊙ ∂F/∂x;
 * - `integratedGradients` (Sundararajan et al. 2017): (x - x') ⊙ ∫₀¹ ∂F/∂x(x' + α(x - x')) dα
 *   for a baseline x', as a Riemann sum over `steps` points. The path is built in the
 *   graph: the gradient graph is vectorized over a new leading `steps` axis
 *   (`batchExamples`) and its input replaced by the batch of interpolated inputs, so one
 *   program evaluates all steps. Completeness — attributions sum to F(x) - F(x') — is
 *   reported as `delta`.
 *
 * F is the explained output: `output[..., target]` for a class index, the entry of each
 * example's own class for per-example i32 targets, or the output itself. Examples are
 * explained together: the gradient of F's sum gives each example's gradient as long as
 * examples do not interact in the model (no batch statistics).
 */
import { Op, type FloatDType, isFloat } from "../ops.js";
import type { Shape } from "../types/dims.js";
import { constant, input } from "../dsl/constructors.js";
import { abs, add, mul, sub } from "../dsl/elementwise.js";
import { sum } from "../dsl/reduce.js";
import { broadcastTo, gather } from "../dsl/structure.js";
import { oneHot } from "../dsl/linalg.js";
import { grad } from "../autodiff.js";
import { wrap, type AnyTensor, type Tensor } from "../tensor.js";
import { ValidationError } from "../errors.js";
import { compactShape, shapesEqual } from "../graph/shapes.js";
import type { Node } from "../graph/node.js";
import { vectorizeNodes } from "../privacy/perExample.js";
import { substituteInputs } from "./substitute.js";

/** Which output to explain: a class index (last axis), per-example class indices (i32), or the whole output. */
export type AttributionTarget = number | Tensor<Shape, "i32">;

export interface AttributionSpec<S extends Shape, D extends FloatDType> {
  /** The model's output, built from `input` (e.g. logits `[batch, classes]`). */
  readonly output: AnyTensor;
  /** The input leaf to attribute to (an `input(...)` tensor, e.g. `x: [batch, 784]`). */
  readonly input: Tensor<S, D>;
  /** What to explain (default: the output itself, summed if it has several entries per example). */
  readonly target?: AttributionTarget;
}

const checkInput = (t: AnyTensor): void => {
  const n = t.node;
  if (n.op !== Op.Input) throw new ValidationError(`must be an input(...) leaf the output was built from, got ${n.op} ${n.dtype}${compactShape(n.shape)}`, "input");
  if (!isFloat(n.dtype)) throw new ValidationError(`must be f32 or f64 to have gradients, got ${n.dtype}`, "input");
};

/**
 * The explained quantity F: the target's entry of the output's last axis, or the output.
 * @example explainedOutput(logits, 3) // logits[..., 3]
 */
export const explainedOutput = (output: AnyTensor, target: AttributionTarget | undefined): AnyTensor => {
  if (target === undefined) return output;
  const shape = output.node.shape;
  const classes = shape[shape.length - 1];
  if (shape.length === 0 || typeof classes !== "number") throw new ValidationError(`a target needs an output with a concrete last (class) axis, got ${compactShape(shape)}`, "target");
  if (typeof target === "number") {
    if (!Number.isInteger(target) || target < 0 || target >= classes) throw new ValidationError(`class ${target} is outside [0, ${classes}) of the output ${compactShape(shape)}`, "target");
    return gather(output, constant(target, [], "i32"), -1);
  }
  const want = shape.slice(0, -1);
  if (target.node.dtype !== "i32" || !shapesEqual(target.node.shape, want))
    throw new ValidationError(`per-example targets must be i32${compactShape(want)} for the output ${compactShape(shape)}, got ${target.node.dtype}${compactShape(target.node.shape)}`, "target");
  return sum(mul(output, oneHot(target, classes, output.node.dtype as FloatDType)), -1);
};

const inputGradient = <S extends Shape, D extends FloatDType>(spec: AttributionSpec<S, D>): { f: AnyTensor; dx: AnyTensor } => {
  checkInput(spec.input);
  const f = explainedOutput(spec.output, spec.target);
  return { f, dx: grad(sum(f), spec.input as AnyTensor) };
};

/**
 * Gradient saliency: ∂F/∂x, shaped like the input (its magnitude with `absolute`).
 * @example const map = saliency({ output: logits, input: x, target: labels, absolute: true });
 */
export const saliency = <S extends Shape, D extends FloatDType>(spec: AttributionSpec<S, D> & { readonly absolute?: boolean }): Tensor<S, D> => {
  const { dx } = inputGradient(spec);
  return wrap((spec.absolute === true ? abs(dx) : dx).node);
};

/**
 * Gradient × input: x ⊙ ∂F/∂x.
 * @example const map = gradientTimesInput({ output: logits, input: x, target: 7 });
 */
export const gradientTimesInput = <S extends Shape, D extends FloatDType>(spec: AttributionSpec<S, D>): Tensor<S, D> => {
  const { dx } = inputGradient(spec);
  return wrap(mul(spec.input as AnyTensor, dx).node);
};

/** Where the Riemann sum samples the path: α_k = (k + ½)/m, k/m, (k + 1)/m, or k/(m - 1) with halved end weights. */
export type RiemannRule = "midpoint" | "left" | "right" | "trapezoid";

export interface IntegratedGradientsOptions {
  /** Points on the path (default 64). */
  readonly steps?: number;
  /** The baseline x': a number (default 0) or a tensor broadcastable to the input's shape. */
  readonly baseline?: number | AnyTensor;
  /** Default "midpoint". */
  readonly rule?: RiemannRule;
}

export interface IntegratedGradients<S extends Shape, D extends FloatDType> {
  /** (x - x') ⊙ the path-averaged gradient, shaped like the input. */
  readonly attributions: Tensor<S, D>;
  /** F(x), the explained output. */
  readonly output: AnyTensor;
  /** F(x'), the explained output at the baseline. */
  readonly baselineOutput: AnyTensor;
  /**
   * Completeness error Σ attributions - Σ (F(x) - F(x')), per example: sums run over all
   * but the leading axes F shares with the input (so `[batch]` for `x: [batch, 784]` and
   * F `[batch]` or `[batch, k]`; a scalar when they share none).
   */
  readonly delta: AnyTensor;
}

/** Whether `leaf` is among the nodes `root` is computed from. */
const dependsOn = (root: Node, leaf: Node): boolean => {
  const seen = new Set<Node>();
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n === leaf) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...n.inputs);
  }
  return false;
};

/** Path positions α_k and quadrature weights w_k (Σ w_k = 1). @example riemannPoints(4, "midpoint") // alphas [0.125, 0.375, 0.625, 0.875], weights 0.25 each */
export const riemannPoints = (steps: number, rule: RiemannRule): { alphas: number[]; weights: number[] } => {
  const m = steps;
  if (rule === "trapezoid") {
    if (m < 2) throw new ValidationError(`the trapezoid rule needs at least 2 steps, got ${m}`, "steps");
    return {
      alphas: Array.from({ length: m }, (_, k) => k / (m - 1)),
      weights: Array.from({ length: m }, (_, k) => (k === 0 || k === m - 1 ? 0.5 : 1) / (m - 1)),
    };
  }
  const offset = rule === "midpoint" ? 0.5 : rule === "left" ? 0 : 1;
  return { alphas: Array.from({ length: m }, (_, k) => (k + offset) / m), weights: Array.from({ length: m }, () => 1 / m) };
};

/**
 * Σ_k w_k·∂F/∂x(x' + α_k(x - x')): the gradient graph vectorized over a new leading axis
 * of `steps` points, its input replaced by the batch of path points, then the weighted
 * sum over that axis. A gradient that does not depend on x is the same at every point.
 */
const pathAveragedGradient = (
  dx: AnyTensor,
  x: AnyTensor,
  baseline: AnyTensor,
  steps: number,
  rule: RiemannRule,
  fixed: Readonly<Record<string, AnyTensor>>,
): AnyTensor => {
  const name = x.node.op === Op.Input ? x.node.params.name : "";
  if (!dependsOn(dx.node, x.node)) return Object.keys(fixed).length === 0 ? dx : substituteInputs([dx], fixed)[0]!;
  const { shape, dtype } = x.node;
  const { alphas, weights } = riemannPoints(steps, rule);
  const column = [steps, ...shape.map(() => 1)];
  const path = add(baseline, mul(constant(alphas, column, dtype), sub(x, baseline)));
  const perPoint = wrap(vectorizeNodes([dx], [x], steps as unknown as Shape[number]).outputs[0]!);
  const [onPath] = substituteInputs([perPoint], { ...fixed, [name]: path });
  return sum(mul(onPath!, constant(weights, column, dtype)), 0);
};

/** The leaf that stands for a tensor target while the path graphs are built (see `integratedGradients`). */
const HELD_TARGET = "explain.target";

/**
 * Integrated gradients, with the path's Riemann sum built in the graph.
 * @example
 * const ig = integratedGradients({ output: logits, input: x, target: labels }, { steps: 64 });
 * const g = buildGraph({ attributions: ig.attributions, delta: ig.delta }); // feed x, labels and the params
 */
export const integratedGradients = <S extends Shape, D extends FloatDType>(
  spec: AttributionSpec<S, D>,
  options: IntegratedGradientsOptions = {},
): IntegratedGradients<S, D> => {
  const steps = options.steps ?? 64;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new ValidationError(`must be a positive integer, got ${steps}`, "options.steps");
  checkInput(spec.input);
  const x = spec.input as AnyTensor;
  const { shape, dtype } = x.node;
  const name = x.node.op === Op.Input ? x.node.params.name : "";
  const baseline: AnyTensor = typeof options.baseline === "number" || options.baseline === undefined ? constant(options.baseline ?? 0, [], dtype) : options.baseline;
  // A target tensor may be computed from the input (say, the predicted class): it must stay
  // the target at x, not be recomputed at each path point, so the path graphs see a leaf
  // in its place, replaced by the target itself once they are built.
  const target = spec.target;
  const held = typeof target === "object" ? input(HELD_TARGET, target.node.shape as unknown as Shape, "i32") : target;
  const fixed: Record<string, AnyTensor> = typeof target === "object" ? { [HELD_TARGET]: target } : {};
  const fHeld = explainedOutput(spec.output, held);
  const f = explainedOutput(spec.output, target);
  const dx = grad(sum(fHeld), x);
  const averaged = pathAveragedGradient(dx, x, baseline, steps, options.rule ?? "midpoint", fixed);
  const attributions = mul(sub(x, baseline), averaged);
  const [baselineOutput] = substituteInputs([fHeld], { ...fixed, [name]: broadcastTo(baseline, shape as unknown as Shape) });
  // Completeness per example: over the leading axes F shares with the input (e.g. [batch]).
  const fShape = f.node.shape;
  let shared = 0;
  while (shared < fShape.length && shared < shape.length && fShape[shared] === shape[shared]) shared++;
  const sumFrom = (t: AnyTensor, rank: number): AnyTensor => (rank > shared ? sum(t, Array.from({ length: rank - shared }, (_, a) => shared + a)) : t);
  const delta = sub(sumFrom(attributions, shape.length), sumFrom(sub(f, baselineOutput!), fShape.length));
  return { attributions: wrap(attributions.node), output: f, baselineOutput: baselineOutput!, delta };
};
