/**
 * Shape ops: reshape, transpose, broadcastTo, expandDims, squeeze, concat, slice, pad,
 * gather/take and scatterAdd. Negative axes count from the end.
 */
import { Op, type DType } from "../ops.js";
import { normalizeAxis } from "../graph/shapes.js";
import type { DynamicShape, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { apply } from "./apply.js";

type RDim = number | string;
const rt = (shape: Shape): RDim[] => shape.map((d) => d as unknown as RDim);
const axisOf = (axis: number, rank: number): number => normalizeAxis(axis, rank) ?? axis;

/** Same elements, new shape (row-major). The element count must not change. */
export const reshape = (x: AnyTensor, shape: Shape): Tensor<DynamicShape, DType> =>
  apply(Op.Reshape, [x], { shape: rt(shape) });

/** Permutes axes; reverses them when `perm` is omitted. */
export const transpose = (x: AnyTensor, perm?: readonly number[]): Tensor<DynamicShape, DType> => {
  const r = x.node.shape.length;
  return apply(Op.Transpose, [x], { perm: perm === undefined ? Array.from({ length: r }, (_, i) => r - 1 - i) : perm.map((a) => axisOf(a, r)) });
};

/** Repeats size-1 (or missing leading) dims to reach `shape`. */
export const broadcastTo = (x: AnyTensor, shape: Shape): Tensor<DynamicShape, DType> =>
  apply(Op.BroadcastTo, [x], { shape: rt(shape) });

/** Inserts a size-1 dim at `axis` (negative counts from the end of the result). */
export const expandDims = (x: AnyTensor, axis: number): Tensor<DynamicShape, DType> =>
  apply(Op.ExpandDims, [x], { axis: axisOf(axis, x.node.shape.length + 1) });

/** Removes size-1 dims: the given axes, or all of them. */
export const squeeze = (x: AnyTensor, axes?: number | readonly number[]): Tensor<DynamicShape, DType> => {
  const r = x.node.shape.length;
  const list =
    axes === undefined ? x.node.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : (typeof axes === "number" ? [axes] : [...axes]).map((a) => axisOf(a, r));
  return apply(Op.Squeeze, [x], { axes: [...list].sort((a, b) => a - b) });
};

/** Joins tensors along `axis`; all other dims must agree. */
export const concat = (xs: readonly AnyTensor[], axis: number): Tensor<DynamicShape, DType> =>
  apply(Op.Concat, xs, { axis: axisOf(axis, xs[0]?.node.shape.length ?? 0) });

/** One axis range for `slice`: `[start, end]` or `[start, end, step]`; negative indices count from the end. */
export type SliceRange = readonly [number, number] | readonly [number, number, number] | null;

/** Takes ranges along the leading axes (`null` keeps an axis whole). */
export const slice = (x: AnyTensor, ranges: readonly SliceRange[]): Tensor<DynamicShape, DType> => {
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  ranges.forEach((r, ax) => {
    if (r === null) return;
    const d = x.node.shape[ax];
    const fix = (i: number): number => (typeof d === "number" && i < 0 ? i + d : i);
    axes.push(ax);
    starts.push(fix(r[0]));
    ends.push(fix(r[1]));
    steps.push(r[2] ?? 1);
  });
  return apply(Op.Slice, [x], { axes, starts, ends, steps });
};

/** Zero padding: `[before, after]` per axis. */
export const pad = (x: AnyTensor, widths: readonly (readonly [number, number])[]): Tensor<DynamicShape, DType> =>
  apply(Op.Pad, [x], { before: widths.map((w) => w[0]), after: widths.map((w) => w[1]) });

/** Takes entries of `x` along `axis` at i32 `indices` of any shape. */
export const gather = (x: AnyTensor, indices: Tensor<Shape, "i32">, axis = 0): Tensor<DynamicShape, DType> =>
  apply(Op.Gather, [x, indices], { axis: axisOf(axis, x.node.shape.length) });
/** Alias of `gather`. */
export const take = gather;

/** Zeros of `shape`, with `updates` added at `indices` along `axis` (the adjoint of gather). */
export const scatterAdd = (updates: AnyTensor, indices: Tensor<Shape, "i32">, axis: number, shape: Shape): Tensor<DynamicShape, DType> =>
  apply(Op.ScatterAdd, [updates, indices], { axis: axisOf(axis, shape.length), shape: rt(shape) });
