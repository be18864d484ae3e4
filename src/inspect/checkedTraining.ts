/**
 * Checked training: a trainer whose steps stop with a NonFiniteError report as soon as a
 * step yields a NaN or an infinity.
 *
 * Takes a Trainer; returns one with the same graph and state whose `trainStep` runs the
 * compiled step as usual, checks the loss, metrics, new params and optimizer state, and
 * when one is not finite replays that step from the same state in the reference
 * interpreter with `traceNonFinite`, so the report names the first non-finite node of the
 * step graph (forward, gradient or update), its line, and its inputs' ranges. Healthy
 * steps cost one scan of the outputs; the replay only happens on failure.
 */
import * as E from "fp-ts/lib/Either.js";
import { stepKeyFor, type StepOptions, type Trainer, type TrainState, type StepResult } from "../train/trainer.js";
import { STEP_KEY_INPUT } from "../nn/state.js";
import { allocate, type TensorValue } from "../../runtime/value.js";
import { NonFiniteError, traceNonFinite } from "./nonFinite.js";

const scalarValue = (dtype: TensorValue["dtype"], v: number): TensorValue => {
  const data = allocate(dtype, 1);
  data[0] = v;
  return { dtype, shape: [], data };
};

const isFiniteValue = (v: TensorValue): boolean => {
  if (v.dtype !== "f32" && v.dtype !== "f64") return true;
  const d = v.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
};

/** The names of the step's non-finite results (loss, metrics, params and model state, optimizer state). */
const nonFiniteResults = (r: StepResult): string[] => {
  const bad: string[] = Number.isFinite(r.loss) ? [] : ["loss"];
  for (const [k, v] of Object.entries(r.metrics)) if (!isFiniteValue(v)) bad.push(`metric ${k}`);
  for (const [k, v] of Object.entries(r.state.params)) if (!isFiniteValue(v)) bad.push(`param ${k}`);
  for (const [k, v] of Object.entries(r.state.optimizer)) if (!isFiniteValue(v)) bad.push(`optimizer state ${k}`);
  return bad;
};

/** A non-finite result that the reference interpreter does not reproduce (the compiled program and the interpreter disagree). */
export class UnreproducedNonFiniteError extends Error {
  override readonly name = "UnreproducedNonFiniteError";
}

/**
 * Wraps a trainer so that a step producing NaN or Inf throws a NonFiniteError naming the
 * first non-finite node of the step graph. Use it with `fit` like the trainer itself.
 * @example
 * const trainer = checkedTrainer(createTrainer({ loss, params, optimizer: sgd(), learningRate: 10 }));
 * await fit(trainer, trainer.init(0), options); // throws "training step 3: %41 mul produced +Inf ..."
 */
export const checkedTrainer = (trainer: Trainer): Trainer => {
  const dtype = trainer.config.loss.node.dtype;
  const stepGraph = trainer.stepGraph;
  // Recycling only reuses arrays of states before `state`, so `state` stays intact for a replay.
  const trainStep = (state: TrainState, batch: Readonly<Record<string, TensorValue>>, options?: StepOptions): StepResult => {
    const r = trainer.trainStep(state, batch, options);
    const bad = nonFiniteResults(r);
    if (bad.length === 0) return r;
    const step = state.step + 1;
    const feeds = {
      ...batch,
      ...state.params,
      ...state.optimizer,
      [stepGraph.lrInput]: scalarValue(dtype, trainer.learningRateAt(step)),
      [stepGraph.stepInput]: scalarValue(dtype, step),
      [STEP_KEY_INPUT]: scalarValue("i32", stepKeyFor(state.rng, step)),
    };
    const traced = traceNonFinite(stepGraph.graph, feeds, { allowExtraFeeds: true });
    if (E.isLeft(traced)) throw new NonFiniteError(traced.left, `training step ${step} (epoch ${state.epoch + 1})`);
    throw new UnreproducedNonFiniteError(
      `training step ${step}: the compiled step gave non-finite ${bad.join(", ")}, but the reference interpreter computes finite values from the same state; the two executors disagree on this step`,
    );
  };
  return { ...trainer, trainStep };
};
