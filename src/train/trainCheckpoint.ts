/**
 * Checkpoints of a training run: a `TrainState` (params, optimizer state, step, epoch,
 * data RNG) saved atomically with the hash of the trainer's step graph, and loaded back
 * only into a trainer whose graph and tensors match.
 */
import { hashString } from "../graph/node.js";
import type { TensorValue } from "../../runtime/value.js";
import { loadCheckpoint, saveCheckpoint, type TensorSpec } from "./checkpoint.js";
import type { Trainer, TrainState } from "./trainer.js";

/** A hash of the step graph's structure (ops, shapes, params; not source lines). */
export const trainerGraphHash = (trainer: Trainer): string =>
  hashString(trainer.stepGraph.graph.outputs.map((o, i) => `${trainer.stepGraph.graph.outputNames[i]}=${o.hash}`).join(";"));

const specs = (values: Readonly<Record<string, TensorValue>>): Map<string, TensorSpec> =>
  new Map(Object.entries(values).map(([k, v]) => [k, { dtype: v.dtype, shape: [...v.shape] }]));

/**
 * Writes `state` to `path` atomically (a crash mid-save leaves the previous file intact).
 * @example saveTrainState("out/mnist.safetensors", trainer, state);
 */
export const saveTrainState = (path: string, trainer: Trainer, state: TrainState, metadata: Readonly<Record<string, string>> = {}): void =>
  saveCheckpoint(path, {
    params: new Map(Object.entries(state.params)),
    optimizerState: new Map(Object.entries(state.optimizer)),
    step: state.step,
    epoch: state.epoch,
    rng: state.rng,
    graphHash: trainerGraphHash(trainer),
    metadata,
  });

/**
 * Reads a state saved by `saveTrainState` for the same model; throws a CheckpointError
 * naming the mismatching tensor or graph otherwise.
 */
export const loadTrainState = (path: string, trainer: Trainer, like: TrainState): TrainState => {
  const ckpt = loadCheckpoint(path, { params: specs(like.params), optimizerState: specs(like.optimizer), graphHash: trainerGraphHash(trainer) });
  return {
    step: ckpt.step,
    epoch: ckpt.epoch,
    params: Object.fromEntries(ckpt.params),
    optimizer: Object.fromEntries(ckpt.optimizerState),
    rng: ckpt.rng ?? like.rng,
  };
};
