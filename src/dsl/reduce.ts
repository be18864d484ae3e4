/**
 * Reductions over axes, with keepdims, and argmax. Axes may be negative; omitted axes
 * mean all axes.
 */
import { Op, type DType, type ReduceOp } from "../ops.js";
import { normalizeAxis } from "../graph/shapes.js";
import type { DynamicShape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { apply } from "./apply.js";

export interface ReduceOptions {
  readonly keepdims?: boolean;
}

/** Normalizes axes when valid; invalid ones pass through so the shape rule reports them. */
export const normalizeAxes = (axes: number | readonly number[] | undefined, rank: number): number[] => {
  const list = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : typeof axes === "number" ? [axes] : [...axes];
  const norm = list.map((a) => normalizeAxis(a, rank));
  return norm.every((a) => a !== undefined) ? (norm as number[]).sort((a, b) => a - b) : list;
};

const reduction =
  <K extends ReduceOp>(op: K) =>
  (x: AnyTensor, axes?: number | readonly number[], options?: ReduceOptions): Tensor<DynamicShape, DType> =>
    apply<DynamicShape, DType, K>(op, [x], { axes: normalizeAxes(axes, x.node.shape.length), keepdims: options?.keepdims ?? false } as never);

/** Sum over axes (all when omitted). */
export const sum = reduction(Op.Sum);
/** Mean over axes (all when omitted). */
export const mean = reduction(Op.Mean);
/** Maximum over axes (all when omitted). */
export const max = reduction(Op.Max);
/** Minimum over axes (all when omitted). */
export const min = reduction(Op.Min);
/** log(sum(exp(x))) over axes, computed stably. */
export const logsumexp = reduction(Op.LogSumExp);

/** Index of the largest value along `axis` (the first one on ties), as i32. */
export const argmax = (x: AnyTensor, axis = -1, options?: ReduceOptions): Tensor<DynamicShape, "i32"> =>
  apply<DynamicShape, "i32", typeof Op.ArgMax>(Op.ArgMax, [x], {
    axis: normalizeAxis(axis, x.node.shape.length) ?? axis,
    keepdims: options?.keepdims ?? false,
  });
