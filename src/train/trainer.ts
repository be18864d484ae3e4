/**
 * The training step as a pure function on values: `trainStep(state, batch) -> state'`.
 *
 * Takes a trainer built from a loss, the params to train and an optimizer; the step graph
 * (forward, gradients and update) runs as one program per call. A `TrainState` holds
 * everything needed to resume bit-identically: step, epoch, params (with model state
 * such as batch norm's running statistics), optimizer state and the data RNG. Each step
 * also gets a dropout key (`STEP_KEY_INPUT`) computed from the data RNG and the step
 * number, so dropout masks are reproducible and a resumed run draws the same ones.
 */
import type { AnyTensor } from "../tensor.js";
import { jumpRng, rngFromSeed, type RngState } from "../random.js";
import { initParams, type ParamValues } from "../nn/init.js";
import { allocate, type TensorValue } from "../../runtime/value.js";
import { buildTrainStep, stepOutputs, type TrainStepGraph } from "./step.js";
import { makeRunner, type Runner, type RunnerOptions } from "./runner.js";
import { STEP_KEY_INPUT, type StateUpdate } from "../nn/state.js";
import type { Optimizer, Schedule } from "./optimizers.js";

export interface TrainerConfig {
  /** Scalar loss built from the model's params and inputs. */
  readonly loss: AnyTensor;
  /** The params to train (a tree of param tensors, e.g. the model's param record). */
  readonly params: unknown;
  readonly optimizer: Optimizer;
  /** Learning rate: a number or a schedule of the 1-based step. */
  readonly learningRate: number | Schedule;
  readonly clipNorm?: number;
  /** Extra outputs of each step, e.g. `{ logits }`. */
  readonly metrics?: Readonly<Record<string, AnyTensor>>;
  /**
   * Model state updates of the training-mode forward pass (batch norm's running
   * statistics): those params are not trained; each step replaces them with their next
   * values. Build the evaluation graph with `training: false` to use them.
   */
  readonly state?: readonly StateUpdate[];
  readonly name?: string;
  /** How the step runs: a compiled program (default; `{ compile: { backend: "js" } }` picks the TypeScript kernels) or `{ executor: "interpret" }`. */
  readonly runner?: RunnerOptions;
}

export interface TrainState {
  /** Steps taken so far. */
  readonly step: number;
  /** Epochs completed so far. */
  readonly epoch: number;
  /** Trained params and model state, keyed by param name. */
  readonly params: ParamValues;
  /** Optimizer state, keyed by its input name (`opt.<slot>.<param>`). */
  readonly optimizer: Readonly<Record<string, TensorValue>>;
  /** RNG for data order (shuffling). */
  readonly rng: RngState;
}

export interface StepResult {
  readonly state: TrainState;
  readonly loss: number;
  readonly metrics: Readonly<Record<string, TensorValue>>;
}

export interface StepOptions {
  readonly recycle?: Readonly<Record<string, TensorValue>>;
}

export interface Trainer {
  readonly config: TrainerConfig;
  readonly stepGraph: TrainStepGraph;
  /** Fresh state: params from `initParams(seed)`, zero optimizer state, a data RNG derived from the seed. */
  readonly init: (seed: number, params?: ParamValues) => TrainState;
  /**
   * One optimization step on a batch (feeds for the model's inputs). The result is new;
   * `state` is left as it was. `options.recycle` may offer values (by param name and
   * optimizer-state name) that the caller will never read again, e.g. those of the state
   * before `state`: the new params and state are then written into their arrays instead
   * of new ones, so long runs do not churn memory.
   */
  readonly trainStep: (state: TrainState, batch: Readonly<Record<string, TensorValue>>, options?: StepOptions) => StepResult;
  readonly learningRateAt: (step: number) => number;
}

const scalarValue = (dtype: TensorValue["dtype"], v: number): TensorValue => {
  const data = allocate(dtype, 1);
  data[0] = v;
  return { dtype, shape: [], data };
};

/**
 * The dropout key of a step: the data RNG state (fixed within an epoch, saved in
 * checkpoints) and the 1-based step number hashed to an int32 (murmur3 mixing rounds).
 * @example stepKeyFor(state.rng, state.step + 1)
 */
export const stepKeyFor = (rng: RngState, step: number): number => {
  const mix = (h: number, v: number): number => {
    let k = Math.imul(v | 0, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    const x = h ^ k;
    return (Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) | 0;
  };
  let h = [rng.s0, rng.s1, rng.s2, rng.s3, step, Math.floor(step / 4294967296)].reduce(mix, 0x9747b28c);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
};

/**
 * Builds the training step for a loss and its params.
 * @example
 * const trainer = createTrainer({ loss, params, optimizer: adam(), learningRate: 1e-3 });
 * let state = trainer.init(42);
 * ({ state } = trainer.trainStep(state, { x: batchX, y: batchY }));
 */
export const createTrainer = (config: TrainerConfig): Trainer => {
  const stepGraph = buildTrainStep({
    loss: config.loss,
    params: config.params,
    optimizer: config.optimizer,
    ...(config.clipNorm === undefined ? {} : { clipNorm: config.clipNorm }),
    ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
    ...(config.state === undefined ? {} : { state: config.state }),
    name: config.name ?? "trainStep",
  });
  const runner: Runner = makeRunner(stepGraph.graph, config.runner);
  const dtype = config.loss.node.dtype;
  const learningRateAt = (step: number): number => (typeof config.learningRate === "number" ? config.learningRate : config.learningRate(step));

  const init = (seed: number, params?: ParamValues): TrainState => {
    const stateLeaves = (config.state ?? []).map((u) => u.state);
    const [values, rng] = params === undefined ? initParams({ params: config.params, state: stateLeaves }, seed) : [params, rngFromSeed(seed)];
    const optimizer: Record<string, TensorValue> = {};
    for (const leaf of stepGraph.stateLeaves) {
      const p = values[leaf.param];
      if (p === undefined) throw new Error(`createTrainer: no initial value for param '${leaf.param}'`);
      optimizer[leaf.input] = { dtype: p.dtype, shape: p.shape, data: allocate(p.dtype, p.data.length) };
    }
    return { step: 0, epoch: 0, params: values, optimizer, rng: jumpRng(rng) };
  };

  const reuseOf = (recycle: Readonly<Record<string, TensorValue>> | undefined): Record<string, TensorValue> | undefined => {
    if (recycle === undefined) return undefined;
    const reuse: Record<string, TensorValue> = {};
    for (const name of stepGraph.paramNames) if (recycle[name] !== undefined) reuse[stepOutputs.param(name)] = recycle[name]!;
    for (const name of stepGraph.stateNames) if (recycle[name] !== undefined) reuse[stepOutputs.state(name)] = recycle[name]!;
    for (const leaf of stepGraph.stateLeaves) if (recycle[leaf.input] !== undefined) reuse[stepOutputs.state(leaf.input)] = recycle[leaf.input]!;
    return reuse;
  };

  const trainStep = (state: TrainState, batch: Readonly<Record<string, TensorValue>>, options: StepOptions = {}): StepResult => {
    const step = state.step + 1;
    const out = runner.run({
      ...batch,
      ...state.params,
      ...state.optimizer,
      [stepGraph.lrInput]: scalarValue(dtype, learningRateAt(step)),
      [stepGraph.stepInput]: scalarValue(dtype, step),
      [STEP_KEY_INPUT]: scalarValue("i32", stepKeyFor(state.rng, step)),
    }, reuseOf(options.recycle));
    const params: Record<string, TensorValue> = {};
    for (const name of stepGraph.paramNames) params[name] = out[stepOutputs.param(name)]!;
    for (const name of stepGraph.stateNames) params[name] = out[stepOutputs.state(name)]!;
    const optimizer: Record<string, TensorValue> = {};
    for (const leaf of stepGraph.stateLeaves) optimizer[leaf.input] = out[stepOutputs.state(leaf.input)]!;
    const metrics: Record<string, TensorValue> = {};
    for (const name of stepGraph.metricNames) metrics[name] = out[stepOutputs.metric(name)]!;
    const loss = out[stepOutputs.loss]!.data[0]!;
    return { state: { ...state, step, params: { ...state.params, ...params }, optimizer }, loss, metrics };
  };

  return { config, stepGraph, init, trainStep, learningRateAt };
};
