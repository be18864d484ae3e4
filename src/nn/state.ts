/**
 * Model state and modes for layers: a layer with state (batch norm's running statistics)
 * returns its output together with the state's next values, and the training step turns
 * those into outputs; nothing is mutated. The mode says whether a forward pass trains
 * (batch statistics, dropout on) or evaluates.
 */
import type { Tensor } from "../tensor.js";
import type { AnyTensor } from "../tensor.js";
import { hashString } from "../graph/node.js";
import { input } from "../dsl/constructors.js";

/** The name of the i32 input that carries a training step's dropout key (the trainer feeds it). */
export const STEP_KEY_INPUT = "train.key";

/**
 * The step's dropout key: an i32 scalar input the trainer feeds with a new value every
 * step, derived from the run's data RNG and the step number (so a resumed run gets the
 * same keys). @example const mode = { training: true, key: stepKey() };
 */
export const stepKey = (): Tensor<readonly [], "i32"> => input(STEP_KEY_INPUT, [] as const, "i32");

/** A state leaf (a `param` that is not trained) and its value after this step. */
export interface StateUpdate {
  readonly state: AnyTensor;
  readonly next: AnyTensor;
}

/** A layer's output and the state updates it made (empty in evaluation mode). */
export interface WithUpdates<T> {
  readonly y: T;
  readonly updates: readonly StateUpdate[];
}

/** How a forward pass runs. */
export interface Mode {
  /** Training: batch statistics and dropout; evaluation: running statistics, no dropout. */
  readonly training: boolean;
  /** The step's dropout key (needed in training mode when a layer has dropout). */
  readonly key?: Tensor<readonly [], "i32">;
}

/**
 * A dropout stream id from a layer name, so every dropout site gets its own stream.
 * @example streamOf("block0.attn.dropout") // a 31-bit integer
 */
export const streamOf = (name: string): number => Number.parseInt(hashString(name).slice(0, 8), 16) & 0x7fffffff;

/** The updates of several layer results, in order. @example const all = collectUpdates(a, b); */
export const collectUpdates = (...results: readonly { readonly updates: readonly StateUpdate[] }[]): StateUpdate[] => results.flatMap((r) => r.updates);
