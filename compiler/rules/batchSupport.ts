/**
 * Building blocks of the batching rules in `batchRules.ts` (the per-op rules of the
 * `batchExamples` pass, a graph-level vmap).
 *
 * Takes a node of a per-example graph and its inputs after batching, each either batched
 * (carrying a new leading batch dim) or not (shared by all examples); rules return the
 * node's value for every example, shaped `[batch, ...node.shape]`, built with the DSL, or
 * a reason (Left) why the op cannot be batched. Helpers keep symbolic dims symbolic; the
 * few that must multiply dims (folding the batch into another axis) say so in their Left.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type OpParams, type RuntimeDim, type RuntimeShape } from "../../src/ops.js";
import type { NodeOf } from "../../src/graph/node.js";
import { formatShape, shapesEqual } from "../../src/graph/shapes.js";
import { applyNode } from "../../src/dsl/apply.js";
import { wrap, type AnyTensor } from "../../src/tensor.js";

/** An input of a node after batching: `batched` ones have the leading batch dim. */
export interface BatchValue {
  readonly tensor: AnyTensor;
  readonly batched: boolean;
}

/** What a batching rule sees. At least one input is batched (otherwise the node is kept as it is). */
export interface BatchContext<K extends Op> {
  /** The node of the per-example graph. */
  readonly node: NodeOf<K>;
  readonly params: OpParams[K];
  readonly inputs: readonly BatchValue[];
  /** The new leading dim: a size or a symbolic name. */
  readonly batch: RuntimeDim;
}

/** Returns the node's value for every example, `[batch, ...node.shape]`, or why it cannot be batched. */
export type BatchRule<K extends Op> = (ctx: BatchContext<K>) => E.Either<string, AnyTensor>;

/** Applies `op` to tensors with the op's shape rule (throws ShapeError on a rule bug, which the pass reports as internal). */
export const applyOp = <K extends Op>(op: K, inputs: readonly AnyTensor[], params: OpParams[K]): AnyTensor =>
  wrap(applyNode(op, inputs.map((t) => t.node), params));

/** `t` reshaped (row-major) to `shape`, or `t` when it already has it. */
export const reshapeTo = (t: AnyTensor, shape: RuntimeShape): AnyTensor =>
  shapesEqual(t.node.shape, shape) ? t : applyOp(Op.Reshape, [t], { shape: [...shape] });

/** `t` with its axes permuted, or `t` for the identity permutation. */
export const permuteAxes = (t: AnyTensor, perm: readonly number[]): AnyTensor =>
  perm.every((p, i) => p === i) ? t : applyOp(Op.Transpose, [t], { perm: [...perm] });

/** Axes `from` (inclusive) to `to` (exclusive). */
export const axisRange = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** The per-example shape of a value (its shape without the batch dim when batched). */
export const exampleShape = (v: BatchValue): RuntimeShape => (v.batched ? v.tensor.node.shape.slice(1) : v.tensor.node.shape);

/** A batched copy of an unbatched value (every example sees the same tensor); batched values pass through. */
export const materialize = (v: BatchValue, batch: RuntimeDim): AnyTensor =>
  v.batched ? v.tensor : applyOp(Op.BroadcastTo, [v.tensor], { shape: [batch, ...v.tensor.node.shape] });

/**
 * Gives a batched value `rank` per-example dims by inserting size-1 dims right after the
 * batch dim, so NumPy broadcasting against unbatched operands (which align from the end)
 * never pairs the batch dim with a per-example dim. Unbatched values pass through.
 */
export const withExampleRank = (v: BatchValue, rank: number): AnyTensor => {
  const shape = exampleShape(v);
  if (!v.batched || shape.length >= rank) return v.tensor;
  const batch = v.tensor.node.shape[0]!;
  return reshapeTo(v.tensor, [batch, ...Array.from({ length: rank - shape.length }, () => 1), ...shape]);
};

/** Axes of a per-example tensor as axes of its batched version. */
export const shiftAxes = (axes: readonly number[]): number[] => axes.map((a) => a + 1);

/** The only batched input of a single-input op (rules are only called when it is batched). */
export const batchedInput = (ctx: BatchContext<Op>, i = 0): AnyTensor => {
  const v = ctx.inputs[i];
  if (v === undefined) throw new Error(`batching rule of ${ctx.node.op} needs input ${i}, the node has ${ctx.inputs.length}`);
  return materialize(v, ctx.batch);
};

/** Product of dims when all are concrete, else undefined. */
export const concreteProduct = (dims: readonly RuntimeDim[]): number | undefined =>
  dims.every((d): d is number => typeof d === "number") ? dims.reduce<number>((a, b) => a * b, 1) : undefined;

/**
 * `[batch, n, ...rest]` as `[batch·n, ...rest]` for ops with their own leading example
 * axis (NCHW). Symbolic batch sizes work when n is 1; otherwise both sizes must be concrete.
 */
export const foldBatchIntoLeadingAxis = (t: AnyTensor): E.Either<string, AnyTensor> => {
  const [b, n, ...rest] = t.node.shape;
  if (b === undefined || n === undefined) return E.left(`expected a leading axis to fold the batch into, got ${formatShape(t.node.shape)}`);
  if (n === 1) return E.right(reshapeTo(t, [b, ...rest]));
  if (typeof b === "number" && typeof n === "number") return E.right(reshapeTo(t, [b * n, ...rest]));
  return E.left(`folding the batch dim ${String(b)} into the leading axis of size ${String(n)} needs concrete sizes (or a per-example leading axis of 1)`);
};

/** The inverse of `foldBatchIntoLeadingAxis`: `[batch·n, ...rest]` back to `[batch, n, ...rest]`. */
export const unfoldBatch = (t: AnyTensor, batch: RuntimeDim, n: RuntimeDim): AnyTensor =>
  reshapeTo(t, [batch, n, ...t.node.shape.slice(1)]);

/** The permutation that undoes `perm`. */
export const invertPermutation = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length).fill(0);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
};
