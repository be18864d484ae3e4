/**
 * Batching rules of gather and scatterAdd (see `batchSupport.ts` for the contract).
 *
 * When only the values or only the indices are batched, the op itself handles the batch
 * (one more axis, plus a transpose). When both are, every example indexes its own
 * tensor, which one gather cannot express; the rule then writes the op as a batched
 * matmul with one-hot rows: `gather(x, i)[k] = Σ_n [i_k = n]·x[n]`, and scatterAdd as
 * its transpose. That needs concrete per-example sizes around the indexed axis, and an
 * out-of-range index selects (or receives) nothing instead of raising a RangeError.
 * Integer and bool values go through f64, which holds every i32 exactly.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, isFloat, type DType, type RuntimeDim } from "../../src/ops.js";
import { formatShape } from "../../src/graph/shapes.js";
import type { AnyTensor } from "../../src/tensor.js";
import { applyOp, axisRange, concreteProduct, materialize, permuteAxes, reshapeTo, type BatchRule } from "./batchSupport.js";

const floatOf = (d: DType): DType => (isFloat(d) ? d : "f64");
const toFloat = (t: AnyTensor): AnyTensor => (isFloat(t.node.dtype) ? t : applyOp(Op.Cast, [t], { dtype: "f64" }));
const fromFloat = (t: AnyTensor, dtype: DType): AnyTensor => (t.node.dtype === dtype ? t : applyOp(Op.Cast, [t], { dtype }));

/** Rows of one-hot vectors for batched indices: `[batch, K, n]` with K the per-example index count. */
const oneHotRows = (indices: AnyTensor, batch: RuntimeDim, count: number, n: number, dtype: DType): AnyTensor =>
  reshapeTo(applyOp(Op.OneHot, [indices], { depth: n, dtype }), [batch, count, n]);

interface IndexedLayout {
  readonly pre: readonly RuntimeDim[];
  readonly post: readonly RuntimeDim[];
  readonly indexShape: readonly RuntimeDim[];
  readonly n: number;
  /** Elements per index: the product of `pre` and `post`. */
  readonly m: number;
  /** Indices per example. */
  readonly k: number;
}

const layout = (op: string, pre: readonly RuntimeDim[], n: RuntimeDim, post: readonly RuntimeDim[], indexShape: readonly RuntimeDim[]): E.Either<string, IndexedLayout> => {
  const m = concreteProduct([...pre, ...post]);
  const k = concreteProduct(indexShape);
  if (m === undefined || k === undefined || typeof n !== "number")
    return E.left(
      `${op} with per-example values and per-example indices needs concrete per-example sizes, got values around the axis ${formatShape([...pre, n, ...post])} and indices ${formatShape(indexShape)}`,
    );
  return E.right({ pre, post, indexShape, n, m, k });
};

/** gather(x_b, i_b, axis) for every example b, both batched. */
const gatherEachExample = (x: AnyTensor, indices: AnyTensor, axis: number, batch: RuntimeDim): E.Either<string, AnyTensor> => {
  const xs = x.node.shape.slice(1);
  const is = indices.node.shape.slice(1);
  return E.map((l: IndexedLayout) => {
    const [p, k] = [l.pre.length, l.indexShape.length];
    // [batch, ...pre, n, ...post] -> [batch, n, ...pre, ...post] -> [batch, n, m]
    const rows = reshapeTo(permuteAxes(toFloat(x), [0, axis + 1, ...axisRange(1, axis + 1), ...axisRange(axis + 2, xs.length + 1)]), [batch, l.n, l.m]);
    const picked = applyOp(Op.MatMul, [oneHotRows(indices, batch, l.k, l.n, rows.node.dtype), rows], { transposeA: false, transposeB: false });
    // [batch, K, m] -> [batch, ...I, ...pre, ...post] -> [batch, ...pre, ...I, ...post]
    const spread = reshapeTo(picked, [batch, ...l.indexShape, ...l.pre, ...l.post]);
    const rank = spread.node.shape.length;
    const ordered = permuteAxes(spread, [0, ...axisRange(1 + k, 1 + k + p), ...axisRange(1, 1 + k), ...axisRange(1 + k + p, rank)]);
    return fromFloat(ordered, x.node.dtype);
  })(layout("gather", xs.slice(0, axis), xs[axis]!, xs.slice(axis + 1), is));
};

/** scatterAdd(u_b, i_b, axis, shape) for every example b, both batched. */
const scatterAddEachExample = (
  updates: AnyTensor,
  indices: AnyTensor,
  axis: number,
  shape: readonly RuntimeDim[],
  batch: RuntimeDim,
): E.Either<string, AnyTensor> => {
  const is = indices.node.shape.slice(1);
  return E.map((l: IndexedLayout) => {
    const [p, k] = [l.pre.length, l.indexShape.length];
    const rank = updates.node.shape.length;
    // [batch, ...pre, ...I, ...post] -> [batch, ...I, ...pre, ...post] -> [batch, K, m]
    const rows = reshapeTo(permuteAxes(toFloat(updates), [0, ...axisRange(1 + p, 1 + p + k), ...axisRange(1, 1 + p), ...axisRange(1 + p + k, rank)]), [batch, l.k, l.m]);
    const summed = applyOp(Op.MatMul, [oneHotRows(indices, batch, l.k, l.n, floatOf(rows.node.dtype)), rows], { transposeA: true, transposeB: false });
    // [batch, n, m] -> [batch, n, ...pre, ...post] -> [batch, ...pre, n, ...post]
    const spread = reshapeTo(summed, [batch, l.n, ...l.pre, ...l.post]);
    const ordered = permuteAxes(spread, [0, ...axisRange(2, 2 + p), 1, ...axisRange(2 + p, spread.node.shape.length)]);
    return fromFloat(ordered, updates.node.dtype);
  })(layout("scatterAdd", shape.slice(0, axis), shape[axis]!, shape.slice(axis + 1), is));
};

export const gatherBatchRule: BatchRule<typeof Op.Gather> = (ctx) => {
  const [values, indices] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const { axis } = ctx.params;
  if (!indices.batched) return E.right(applyOp(Op.Gather, [values.tensor, indices.tensor], { axis: axis + 1 }));
  if (!values.batched) {
    // [...pre, batch, ...I, ...post]: the batch dim sits where the indexed axis was.
    const out = applyOp(Op.Gather, [values.tensor, indices.tensor], { axis });
    const rank = out.node.shape.length;
    return E.right(permuteAxes(out, [axis, ...axisRange(0, axis), ...axisRange(axis + 1, rank)]));
  }
  return gatherEachExample(values.tensor, indices.tensor, axis, ctx.batch);
};

export const scatterAddBatchRule: BatchRule<typeof Op.ScatterAdd> = (ctx) => {
  const [updates, indices] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const { axis, shape } = ctx.params;
  if (!indices.batched) return E.right(applyOp(Op.ScatterAdd, [updates.tensor, indices.tensor], { axis: axis + 1, shape: [ctx.batch, ...shape] }));
  return scatterAddEachExample(materialize(updates, ctx.batch), indices.tensor, axis, shape, ctx.batch);
};
