/**
 * The DP-SGD training step as one graph (Abadi et al. 2016, "Deep Learning with
 * Differential Privacy", Algorithm 1), next to `buildTrainStep`:
 *
 *   g_b = ∇ loss(params; example b)                  per-example gradients (batchExamples)
 *   ĝ_b = g_b · min(1, C / ‖g_b‖)                     clipped to the global L2 norm C over all params
 *   g̃   = (Σ_b ĝ_b + σ·C·z) / B,  z ~ N(0, I)          noised, averaged over the batch
 *   params', state' = optimizer.update(params, g̃)     any base optimizer's rule
 *
 * Takes a loss written for ONE example (inputs such as `x: [784]`, `label: []`), the
 * params, a base optimizer, the clipping norm C and the noise multiplier σ. The standard
 * normal noise z enters as inputs (`dp.noise.<param>`, shaped like each param) that the
 * trainer draws on the host from the state's RNG, so runs are deterministic and resume
 * bit-identically. Output names follow `stepOutputs` (loss, metrics, params, optimizer
 * state), so the step runs in the ordinary trainer machinery and checkpoints.
 * Only the params are private: the loss and metric outputs are computed from the batch
 * without noise, for monitoring, not for release.
 */
import { Op, type DType, type FloatDType, isFloat } from "../ops.js";
import type { Node } from "../graph/node.js";
import { buildGraph } from "../graph/graph.js";
import { input } from "../dsl/constructors.js";
import { add, div, greater, maximum, mul, sqrt } from "../dsl/elementwise.js";
import { mean } from "../dsl/reduce.js";
import { cast } from "../dsl/linalg.js";
import { wrap, type AnyTensor } from "../tensor.js";
import type { Dim, Shape } from "../types/dims.js";
import { ValidationError } from "../errors.js";
import { collectParams } from "../nn/init.js";
import { grad } from "../autodiff.js";
import { stateInputName, stepOutputs, type TrainStepGraph } from "../train/step.js";
import type { Optimizer } from "../train/optimizers.js";
import { reducedCount } from "../../compiler/rules/gradSupport.js";
import { vectorizeNodes } from "./perExample.js";
import { clippingTerms, type ClippingMethod } from "./clipping.js";

export interface DpTrainStepSpec {
  /** Scalar loss of ONE example, built from the params and per-example inputs. */
  readonly loss: AnyTensor;
  /** Params to train: a tree of param tensors (records/arrays). */
  readonly params: unknown;
  /** The base optimizer, applied to the privatized gradient. */
  readonly optimizer: Optimizer;
  /** C: each example's gradient is scaled down to global L2 norm at most C. */
  readonly clipNorm: number;
  /** σ: the noise added to the sum of clipped gradients has standard deviation σ·C (0: clipping only, not private). */
  readonly noiseMultiplier: number;
  /** The per-example inputs (`input(...)` leaves); default: every input of the loss. */
  readonly examples?: readonly AnyTensor[];
  /** Per-example values to output for the batch, e.g. `{ logits }` of one example (`[classes]`): output as `[batch, classes]`. */
  readonly metrics?: Readonly<Record<string, AnyTensor>>;
  /** The batch dim (default `sym("batch")`: any batch size). */
  readonly batch?: Dim;
  /** "ghost" (default): dense-layer weight gradients are clipped without forming them per example (see `clipping.ts`). */
  readonly clipping?: ClippingMethod;
  readonly name?: string;
}

export interface DpTrainStepGraph extends TrainStepGraph {
  /** The noise leaves: input name and the param it is added to. Empty when σ = 0. */
  readonly noiseInputs: readonly { readonly input: string; readonly param: string }[];
  /** The batched per-example input leaves by name (feed these, e.g. with `supervisedFeeds`). */
  readonly inputs: Readonly<Record<string, AnyTensor>>;
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
}

/** Input name of a param's noise. @example noiseInputName("mnist.0.W") // "dp.noise.mnist.0.W" */
export const noiseInputName = (param: string): string => `dp.noise.${param}`;

/** The metric with the fraction of the batch's examples whose gradient was clipped. @example result.metrics[CLIPPED_FRACTION_METRIC].data[0] // 0.4 */
export const CLIPPED_FRACTION_METRIC = "dp.clippedFraction";

const paramName = (n: Node): string => (n.op === Op.Param ? n.params.name : "");

const checkSpec = (spec: DpTrainStepSpec): void => {
  const { shape, dtype } = spec.loss.node;
  if (shape.length !== 0) throw new ValidationError(`must be the scalar loss of one example, got shape [${shape.join(", ")}]`, "loss");
  if (!isFloat(dtype)) throw new ValidationError(`must be f32 or f64, got ${dtype}`, "loss");
  if (!(spec.clipNorm > 0 && Number.isFinite(spec.clipNorm))) throw new ValidationError(`must be a positive finite number, got ${spec.clipNorm}`, "clipNorm");
  if (!(spec.noiseMultiplier >= 0 && Number.isFinite(spec.noiseMultiplier))) throw new ValidationError(`must be a finite number >= 0, got ${spec.noiseMultiplier}`, "noiseMultiplier");
};

/**
 * Builds the DP-SGD step graph from a per-example loss.
 * @example
 * const x = input("x", [784]);
 * const label = input("labels", [], "i32");
 * const logits = mlp(params, relu)(reshape(x, [1, 784]));
 * const step = buildDpTrainStep({ loss: softmaxCrossEntropy(logits, reshape(label, [1])), params, optimizer: sgd(), clipNorm: 1, noiseMultiplier: 1.1 });
 * // feeds: x [batch, 784], labels [batch], the params, opt.lr, opt.step and dp.noise.<param> (standard normal)
 */
export const buildDpTrainStep = (spec: DpTrainStepSpec): DpTrainStepGraph => {
  checkSpec(spec);
  const params = collectParams(spec.params);
  if (params.length === 0) throw new ValidationError("no params to train", "params");
  const dtype = spec.loss.node.dtype as FloatDType;
  const paramTensors = params.map((p) => wrap(p) as AnyTensor);
  const grads = grad(spec.loss, paramTensors) as AnyTensor[];
  const metricNames = Object.keys(spec.metrics ?? {});
  const tree: Record<string, AnyTensor> = { loss: spec.loss };
  grads.forEach((g, i) => (tree[`grad${i}`] = g));
  for (const [k, m] of Object.entries(spec.metrics ?? {})) tree[`metric:${k}`] = m;
  const { outputs, inputs } = vectorizeNodes(tree, spec.examples, spec.batch);
  const losses = wrap(outputs[0]!);
  const perExample = grads.map((_, i) => wrap(outputs[1 + i]!) as AnyTensor);
  const batch = losses.node.shape[0]!;

  // ‖g_b‖ over all params, then the clipping factor min(1, C/‖g_b‖) = C / max(‖g_b‖, C).
  const terms = perExample.map((g) => clippingTerms(g, batch, spec.clipping ?? "ghost"));
  const squares = terms.map((t) => t.squaredNorms);
  const norms = sqrt(squares.slice(1).reduce<AnyTensor>((acc, s) => add(acc, s), squares[0]!));
  const factor = div(spec.clipNorm, maximum(norms, spec.clipNorm));
  const examples = reducedCount(losses, [0]);
  const noiseStd = spec.noiseMultiplier * spec.clipNorm;

  const lr = input("opt.lr", [], dtype);
  const step = input("opt.step", [], dtype);
  const out: Record<string, AnyTensor> = { [stepOutputs.loss]: mean(losses) };
  metricNames.forEach((k, i) => (out[stepOutputs.metric(k)] = wrap(outputs[1 + grads.length + i]!)));
  out[stepOutputs.metric(CLIPPED_FRACTION_METRIC)] = mean(cast(greater(norms, spec.clipNorm), dtype));
  const stateLeaves: { input: string; param: string; slot: string }[] = [];
  const noiseInputs: { input: string; param: string }[] = [];
  params.forEach((p, i) => {
    const name = paramName(p);
    const shape = p.shape as unknown as Shape;
    const clippedSum = terms[i]!.weightedSum(factor);
    let noisy: AnyTensor = clippedSum;
    if (noiseStd > 0) {
      const noise = input(noiseInputName(name), shape, p.dtype as DType);
      noiseInputs.push({ input: noiseInputName(name), param: name });
      noisy = add(clippedSum, mul(noise, noiseStd));
    }
    const privateGrad = div(noisy, examples);
    const state: Record<string, AnyTensor> = {};
    for (const slot of spec.optimizer.slots) {
      const inputName = stateInputName(slot, name);
      state[slot] = input(inputName, shape, p.dtype as DType);
      stateLeaves.push({ input: inputName, param: name, slot });
    }
    const next = spec.optimizer.update({ param: paramTensors[i]!, grad: privateGrad, state, lr, step });
    out[stepOutputs.param(name)] = next.param;
    for (const slot of spec.optimizer.slots) {
      const s = next.state[slot];
      if (s === undefined) throw new Error(`optimizer ${spec.optimizer.name} returned no '${slot}' state`);
      out[stepOutputs.state(stateInputName(slot, name))] = s;
    }
  });
  return {
    graph: buildGraph(out, spec.name ?? "dpTrainStep"),
    paramNames: params.map(paramName),
    stateLeaves,
    lrInput: "opt.lr",
    stepInput: "opt.step",
    metricNames: [...metricNames, CLIPPED_FRACTION_METRIC],
    stateNames: [],
    noiseInputs,
    inputs,
    clipNorm: spec.clipNorm,
    noiseMultiplier: spec.noiseMultiplier,
  };
};
