/**
 * Type-level rules for reductions (sum, mean, max, min, logsumexp, argmax) and for ops
 * that take one axis (softmax, logSoftmax).
 *
 * Takes the input shape, the axes as written (a number, a tuple, or nothing for all
 * axes; negative counts from the end) and keepdims; gives the result shape or a message
 * naming the op, the axis, the rank and the shape. Axes that are not literals, or
 * keepdims that is not a literal, make the result dynamic.
 */
import type { DynamicShape, Shape } from "./dims.js";
import type { ShowList, ShowShape } from "./format.js";
import type { HasDuplicate, Indices, IsStatic, NormalizeAxis, NormalizeAxisList, RemoveAt, ReplaceAt } from "./shapeTuples.js";

/** Axes as a reduction takes them: one axis, a list, or `undefined` for all. */
export type AxesArg = number | readonly number[] | undefined;

/** Reduction options: keep reduced axes as size-1 dims. */
export interface ReduceOptions {
  readonly keepdims?: boolean;
}

/** `true`, `false`, or `"unknown"` when keepdims is not a literal. */
export type KeepDims<O> = "keepdims" extends keyof O
  ? [O["keepdims" & keyof O]] extends [true]
    ? true
    : [O["keepdims" & keyof O]] extends [false | undefined]
      ? false
      : "unknown"
  : false;

/** The axes as a normalized tuple, `["out", axis]`, or `"unknown"`. */
type NormalizedAxes<S extends Shape, Ax> = [Ax] extends [undefined]
  ? Indices<S> extends infer All
    ? [All]
    : never
  : [Ax] extends [number]
    ? NormalizeAxisList<S, [Ax & number]>
    : [Ax] extends [readonly number[]]
      ? Ax extends readonly number[] ? NormalizeAxisList<S, Ax> : never
      : "unknown";

/** The message for an axis outside `[-rank, rank)`. */
export type AxisRangeMessage<K extends string, S extends Shape, Ax> = `⛔ ${K}: axis ${ShowList<Ax>} out of range for rank ${S["length"]} (${ShowShape<S>})`;

/**
 * The error at a reduction's axes argument: an axis out of range or a repeated axis.
 * @example type E = ReduceAxesError<"sum", [2, 3], 2>; // "⛔ sum: axis 2 out of range for rank 2 ([2, 3])"
 */
export type ReduceAxesError<K extends string, S extends Shape, Ax> =
  IsStatic<S> extends true
    ? NormalizedAxes<S, Ax> extends infer N
      ? N extends ["out", infer Bad]
        ? AxisRangeMessage<K, S, Bad>
        : N extends readonly number[]
          ? HasDuplicate<N> extends true
            ? `⛔ ${K}: axes ${ShowList<Ax>} repeat an axis`
            : never
          : never
      : never
    : never;

/**
 * The result shape of a reduction over axes `Ax` with options `O`.
 * @example type S = ReduceShape<[Sym<"batch">, 10], -1, {}>; // [batch]
 */
export type ReduceShape<S extends Shape, Ax, O> =
  IsStatic<S> extends true
    ? NormalizedAxes<S, Ax> extends infer N
      ? N extends readonly unknown[]
        ? KeepDims<O> extends true
          ? ReplaceAt<S, N[number], 1>
          : KeepDims<O> extends false
            ? RemoveAt<S, N[number]>
            : DynamicShape
        : DynamicShape
      : never
    : DynamicShape;

/** The error at an op's single axis argument (softmax, argmax, gather, ...). */
export type SingleAxisError<K extends string, S extends Shape, Ax> = IsStatic<S> extends true
  ? [Ax] extends [number]
    ? [NormalizeAxis<S, Ax & number>] extends [never]
      ? AxisRangeMessage<K, S, Ax>
      : never
    : never
  : never;
