/**
 * DP-SGD training: `createDpTrainer` is `createTrainer` for a per-example loss. It builds
 * the step with `buildDpTrainStep` and is a `Trainer`, so `fit`, checkpoints
 * (`saveTrainState`/`loadTrainState`) and evaluators work unchanged.
 *
 * The noise is drawn on the host each step from a dedicated RNG stream kept in the state
 * (`state.optimizer["dp.noiseRng"]`, the four xoshiro words as i32), disjoint from the
 * data RNG: a run is deterministic given the seed, and a run resumed from a checkpoint
 * draws the same noise as one that never stopped. `privacy` reports (ε, δ) for the steps
 * taken so far with the RDP accountant.
 */
import { allocate, type TensorValue, type TypedArray } from "../../runtime/value.js";
import type { Dim } from "../types/dims.js";
import type { AnyTensor } from "../tensor.js";
import { jumpRng, portableLog, rngFromSeed, withRng, type RngState, type RngStream } from "../random.js";
import { initParams, type ParamValues } from "../nn/init.js";
import { ValidationError } from "../errors.js";
import { STEP_KEY_INPUT } from "../nn/state.js";
import { makeRunner } from "../train/runner.js";
import { stepKeyFor, type StepOptions, type StepResult, type Trainer, type TrainState } from "../train/trainer.js";
import { stepOutputs } from "../train/step.js";
import type { Optimizer, Schedule } from "../train/optimizers.js";
import { buildDpTrainStep, type DpTrainStepGraph } from "./dpStep.js";
import type { ClippingMethod } from "./clipping.js";
import { dpSgdPrivacy, type DpConversion, type PrivacySpent } from "./accountant.js";

/** Key of the noise RNG in `TrainState.optimizer`. @example state.optimizer[NOISE_RNG_STATE] // i32[4] */
export const NOISE_RNG_STATE = "dp.noiseRng";

export interface DpTrainerConfig {
  /** Scalar loss of ONE example (see `buildDpTrainStep`). */
  readonly loss: AnyTensor;
  readonly params: unknown;
  /** The base optimizer (sgd, momentum, adam, ...), applied to the privatized gradient. */
  readonly optimizer: Optimizer;
  readonly learningRate: number | Schedule;
  /** Per-example clipping norm C. */
  readonly clipNorm: number;
  /** Noise multiplier σ (noise std σ·C on the sum of clipped gradients). */
  readonly noiseMultiplier: number;
  /** Per-example inputs (default: every input of the loss). */
  readonly examples?: readonly AnyTensor[];
  /** Per-example values output for the batch, e.g. `{ logits }` (`[classes]` for one example). */
  readonly metrics?: Readonly<Record<string, AnyTensor>>;
  readonly batch?: Dim;
  /** How per-example gradients are reduced (default "ghost", see `clipping.ts`). */
  readonly clipping?: ClippingMethod;
  readonly name?: string;
}

/** How the data were sampled, for the accountant. */
export interface PrivacyQuery {
  readonly datasetSize: number;
  readonly batchSize: number;
  readonly delta: number;
  readonly conversion?: DpConversion;
}

export interface DpTrainer extends Trainer {
  readonly stepGraph: DpTrainStepGraph;
  readonly dpConfig: DpTrainerConfig;
  /** (ε, δ) after `state.step` steps, sampling rate batchSize / datasetSize (RDP accountant). */
  readonly privacy: (state: TrainState, query: PrivacyQuery) => PrivacySpent;
}

const rngToValue = (r: RngState): TensorValue => ({ dtype: "i32", shape: [4], data: Int32Array.from([r.s0 | 0, r.s1 | 0, r.s2 | 0, r.s3 | 0]) });

const rngFromValue = (v: TensorValue | undefined): RngState => {
  if (v === undefined || v.dtype !== "i32" || v.data.length !== 4)
    throw new ValidationError(`the DP trainer's state needs the noise RNG as i32[4], got ${v === undefined ? "nothing" : `${v.dtype}[${v.shape.join(",")}]`}`, `optimizer["${NOISE_RNG_STATE}"]`);
  const d = v.data;
  return { s0: d[0]! >>> 0, s1: d[1]! >>> 0, s2: d[2]! >>> 0, s3: d[3]! >>> 0 };
};

const scalarValue = (dtype: TensorValue["dtype"], v: number): TensorValue => {
  const data = allocate(dtype, 1);
  data[0] = v;
  return { dtype, shape: [], data };
};

/**
 * Fills `out` with standard normal samples: Marsaglia's polar method on 53-bit uniforms,
 * keeping both values of each accepted pair (the noise is most of a DP step's host work),
 * with the portable logarithm, so the values are the same on every engine.
 */
const fillStandardNormal = (r: RngStream, out: TypedArray): void => {
  let i = 0;
  while (i < out.length) {
    const u = 2 * r.nextFloat() - 1;
    const v = 2 * r.nextFloat() - 1;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt((-2 * portableLog(s)) / s);
    out[i++] = u * f;
    if (i < out.length) out[i++] = v * f;
  }
};

/** Standard normal noise for every noise input, in order, and the next RNG state. */
const drawNoise = (graph: DpTrainStepGraph, params: ParamValues, rng: RngState): [Record<string, TensorValue>, RngState] =>
  withRng(rng, (r) => {
    const feeds: Record<string, TensorValue> = {};
    for (const { input, param } of graph.noiseInputs) {
      const p = params[param]!;
      const data = allocate(p.dtype, p.data.length);
      fillStandardNormal(r, data);
      feeds[input] = { dtype: p.dtype, shape: p.shape, data };
    }
    return feeds;
  });

/**
 * A trainer that trains privately with DP-SGD.
 * @example
 * const trainer = createDpTrainer({ loss, params, optimizer: sgd(), learningRate: 0.1, clipNorm: 1, noiseMultiplier: 1.1 });
 * const feeds = supervisedFeeds(trainer.stepGraph.inputs.x!, trainer.stepGraph.inputs.labels!);
 * const { state } = await fit(trainer, trainer.init(0), { epochs: 5, batchSize: 256, train, feeds });
 * trainer.privacy(state, { datasetSize: train.features.rows, batchSize: 256, delta: 1e-5 }).epsilon;
 */
export const createDpTrainer = (config: DpTrainerConfig): DpTrainer => {
  const stepGraph = buildDpTrainStep({
    loss: config.loss,
    params: config.params,
    optimizer: config.optimizer,
    clipNorm: config.clipNorm,
    noiseMultiplier: config.noiseMultiplier,
    ...(config.examples === undefined ? {} : { examples: config.examples }),
    ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
    ...(config.batch === undefined ? {} : { batch: config.batch }),
    ...(config.clipping === undefined ? {} : { clipping: config.clipping }),
    name: config.name ?? "dpTrainStep",
  });
  const runner = makeRunner(stepGraph.graph);
  const dtype = config.loss.node.dtype;
  const learningRateAt = (step: number): number => (typeof config.learningRate === "number" ? config.learningRate : config.learningRate(step));

  const init = (seed: number, params?: ParamValues): TrainState => {
    const [values, rng] = params === undefined ? initParams(config.params, seed) : [params, rngFromSeed(seed)];
    const optimizer: Record<string, TensorValue> = {};
    for (const leaf of stepGraph.stateLeaves) {
      const p = values[leaf.param];
      if (p === undefined) throw new ValidationError(`no initial value for param '${leaf.param}'`, "params");
      optimizer[leaf.input] = { dtype: p.dtype, shape: p.shape, data: allocate(p.dtype, p.data.length) };
    }
    const data = jumpRng(rng);
    optimizer[NOISE_RNG_STATE] = rngToValue(jumpRng(data)); // a stream 2^64 draws past the data RNG's
    return { step: 0, epoch: 0, params: values, optimizer, rng: data };
  };

  const trainStep = (state: TrainState, batch: Readonly<Record<string, TensorValue>>, options: StepOptions = {}): StepResult => {
    const step = state.step + 1;
    const [noise, nextNoiseRng] = drawNoise(stepGraph, state.params, rngFromValue(state.optimizer[NOISE_RNG_STATE]));
    const reuse: Record<string, TensorValue> = {};
    for (const name of stepGraph.paramNames) if (options.recycle?.[name] !== undefined) reuse[stepOutputs.param(name)] = options.recycle[name]!;
    for (const leaf of stepGraph.stateLeaves) if (options.recycle?.[leaf.input] !== undefined) reuse[stepOutputs.state(leaf.input)] = options.recycle[leaf.input]!;
    const out = runner.run(
      {
        ...batch,
        ...state.params,
        ...state.optimizer,
        ...noise,
        [stepGraph.lrInput]: scalarValue(dtype, learningRateAt(step)),
        [stepGraph.stepInput]: scalarValue(dtype, step),
        [STEP_KEY_INPUT]: scalarValue("i32", stepKeyFor(state.rng, step)),
      },
      Object.keys(reuse).length === 0 ? undefined : reuse,
    );
    const params: Record<string, TensorValue> = {};
    for (const name of stepGraph.paramNames) params[name] = out[stepOutputs.param(name)]!;
    const optimizer: Record<string, TensorValue> = { [NOISE_RNG_STATE]: rngToValue(nextNoiseRng) };
    for (const leaf of stepGraph.stateLeaves) optimizer[leaf.input] = out[stepOutputs.state(leaf.input)]!;
    const metrics: Record<string, TensorValue> = {};
    for (const name of stepGraph.metricNames) metrics[name] = out[stepOutputs.metric(name)]!;
    return { state: { ...state, step, params: { ...state.params, ...params }, optimizer }, loss: out[stepOutputs.loss]!.data[0]!, metrics };
  };

  const privacy = (state: TrainState, query: PrivacyQuery): PrivacySpent =>
    dpSgdPrivacy({
      datasetSize: query.datasetSize,
      batchSize: query.batchSize,
      noiseMultiplier: config.noiseMultiplier,
      steps: state.step,
      delta: query.delta,
      ...(query.conversion === undefined ? {} : { conversion: query.conversion }),
    });

  const trainerConfig = { loss: config.loss, params: config.params, optimizer: config.optimizer, learningRate: config.learningRate, ...(config.name === undefined ? {} : { name: config.name }) };
  return { config: trainerConfig, dpConfig: config, stepGraph, init, trainStep, learningRateAt, privacy };
};
