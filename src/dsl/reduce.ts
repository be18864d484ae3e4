/**
 * Reductions over axes, with keepdims, and argmax. Axes may be negative; omitted axes
 * mean all axes.
 *
 * Static types: literal axes give the exact result shape; an axis out of range or a
 * repeated axis is a type error at the axes argument (see `src/types/reduce.ts`).
 */
import { Op, type DType, type ReduceOp } from "../ops.js";
import { normalizeAxis } from "../graph/shapes.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import type { DTypeClassError } from "../types/dtypes.js";
import type { AxesArg, ReduceAxesError, ReduceOptions, ReduceShape, SingleAxisError } from "../types/reduce.js";
import { withStaticType, type Check, type OpResult } from "../types/result.js";
import { apply } from "./apply.js";

export type { ReduceOptions } from "../types/reduce.js";

/**
 * Normalizes axes when valid; invalid ones pass through so the shape rule reports them.
 * @example normalizeAxes([-1, 0], 3); // [0, 2]
 */
export const normalizeAxes = (axes: number | readonly number[] | undefined, rank: number): number[] => {
  const list = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : typeof axes === "number" ? [axes] : [...axes];
  const norm = list.map((a) => normalizeAxis(a, rank));
  return norm.every((a) => a !== undefined) ? (norm as number[]).sort((a, b) => a - b) : list;
};

/** A reduction: `(x, axes?, { keepdims }?)`, statically typed for literal axes. */
export type ReductionFn<K extends ReduceOp> = <
  S extends Shape,
  D extends DType,
  const Ax extends AxesArg = undefined,
  const O extends ReduceOptions = {},
>(
  x: Check<DTypeClassError<K, D, S>, Tensor<S, D>>,
  axes?: Check<ReduceAxesError<K, S, Ax>, Ax>,
  options?: O,
) => OpResult<DTypeClassError<K, D, S> | ReduceAxesError<K, S, Ax>, ReduceShape<S, Ax, O>, D>;

const reduction = <K extends ReduceOp>(op: K): ReductionFn<K> =>
  ((x: AnyTensor, axes?: AxesArg, options?: ReduceOptions) =>
    apply(op, [x], { axes: normalizeAxes(axes, x.node.shape.length), keepdims: options?.keepdims ?? false } as never)) as unknown as ReductionFn<K>;

/**
 * Sum over axes (all when omitted).
 * @example const perExample = sum(x, -1); // [batch, 10] -> [batch]
 */
export const sum = reduction(Op.Sum);
/** Mean over axes (all when omitted). @example const m = mean(x, 0, { keepdims: true }); // [batch, 10] -> [1, 10] */
export const mean = reduction(Op.Mean);
/** Maximum over axes (all when omitted). @example const peak = max(x, -1, { keepdims: true }); // [B, 10] -> [B, 1] */
export const max = reduction(Op.Max);
/** Minimum over axes (all when omitted). @example const low = min(x); // -> [] */
export const min = reduction(Op.Min);
/** log(sum(exp(x))) over axes, computed stably (f32/f64 only). @example const lse = logsumexp(logits, -1); */
export const logsumexp = reduction(Op.LogSumExp);

/**
 * Index of the largest value along `axis` (the first one on ties), as i32.
 * @example const predicted = argmax(logits); // [batch, 10] -> i32 [batch]
 */
export const argmax = <S extends Shape, D extends DType, const Ax extends number = -1, const O extends ReduceOptions = {}>(
  x: Check<DTypeClassError<typeof Op.ArgMax, D, S>, Tensor<S, D>>,
  axis?: Check<SingleAxisError<typeof Op.ArgMax, S, Ax>, Ax>,
  options?: O,
): OpResult<DTypeClassError<typeof Op.ArgMax, D, S> | SingleAxisError<typeof Op.ArgMax, S, Ax>, ReduceShape<S, Ax, O>, "i32"> => {
  const t = x as AnyTensor;
  const ax = (axis ?? -1) as number;
  return withStaticType(
    apply<Shape, "i32", typeof Op.ArgMax>(Op.ArgMax, [t], {
      axis: normalizeAxis(ax, t.node.shape.length) ?? ax,
      keepdims: options?.keepdims ?? false,
    }),
  );
};
