/**
 * Type-level rules for matmul (batched, with transpose options), oneHot and
 * assertShape.
 *
 * Takes the operands' shapes and dtypes and the literal options; gives the result shape
 * or a message such as `⛔ matmul: inner dims differ: 784 (lhs [batch, 784]) vs 100
 * (rhs [100, 10])`. Dims are compared explicitly (never by unifying a shared type
 * parameter, which would silently infer a union). Options that are not literals make
 * the result dynamic.
 */
import type { Shape, DynamicShape } from "./dims.js";
import type { IsNatural } from "./arith.js";
import type { ShowDim, ShowShape } from "./format.js";
import type { DTypeClassError, DTypeMismatchError } from "./dtypes.js";
import type { BroadcastShapes } from "./elementwise.js";
import type { InvalidDimError } from "./reshape.js";
import type { DimCompatible, IsStatic } from "./shapeTuples.js";

/** Options of matmul: multiply by the transpose of either operand. */
export interface MatmulOptions {
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

/** `true`, `false`, or `"unknown"` for one transpose flag. */
type Flag<O, K extends keyof MatmulOptions> = K extends keyof O
  ? [O[K]] extends [true]
    ? true
    : [O[K]] extends [false | undefined]
      ? false
      : "unknown"
  : false;

/** [batch dims, rows, cols] of a matrix operand of rank >= 2, transposed when `T`. */
type Matrix<S extends readonly unknown[], T> = S extends readonly [...infer Batch, infer R, infer C]
  ? T extends true
    ? [Batch, C, R]
    : [Batch, R, C]
  : never;

type RankError<Side extends string, S extends Shape> = IsStatic<S> extends true
  ? S extends readonly [unknown, unknown, ...unknown[]]
    ? never
    : `⛔ matmul: ${Side} must have rank >= 2, got ${ShowShape<S>}`
  : never;

/**
 * The error at matmul's first argument: a dtype other than f32/f64, or rank < 2.
 * @example type E = MatmulLhsError<[784], "f32">; // "⛔ matmul: lhs must have rank >= 2, got [784]"
 */
export type MatmulLhsError<SA extends Shape, DA> = [DTypeClassError<"matmul", DA, SA>] extends [never]
  ? RankError<"lhs", SA>
  : DTypeClassError<"matmul", DA, SA>;

/**
 * The error at matmul's second argument: dtypes differ, rank < 2, inner dims differ, or
 * batch dims that do not broadcast (`never` when the first argument already failed).
 * @example type E = MatmulRhsError<[Sym<"batch">, 784], "f32", [100, 10], "f32", {}>;
 * // "⛔ matmul: inner dims differ: 784 (lhs [batch, 784]) vs 100 (rhs [100, 10])"
 */
export type MatmulRhsError<SA extends Shape, DA, SB extends Shape, DB, O> = [MatmulLhsError<SA, DA>] extends [never]
  ? [DTypeMismatchError<"matmul", DA, DB, SA, SB>] extends [never]
    ? [RankError<"rhs", SB>] extends [never]
      ? [IsStatic<SA>, IsStatic<SB>, Flag<O, "transposeA">, Flag<O, "transposeB">] extends [true, true, boolean, boolean]
        ? [Matrix<SA, Flag<O, "transposeA">>, Matrix<SB, Flag<O, "transposeB">>] extends [
            [infer BA extends Shape, unknown, infer K1],
            [infer BB extends Shape, infer K2, unknown],
          ]
          ? DimCompatible<K1, K2> extends false
            ? `⛔ matmul: inner dims differ: ${ShowDim<K1>} (lhs ${ShowShape<SA>}) vs ${ShowDim<K2>} (rhs ${ShowShape<SB>})`
            : BroadcastShapes<BA, BB> extends Shape
              ? never
              : `⛔ matmul: batch dims do not broadcast: ${ShowShape<SA>} (lhs) vs ${ShowShape<SB>} (rhs)`
          : never
        : never
      : RankError<"rhs", SB>
    : DTypeMismatchError<"matmul", DA, DB, SA, SB>
  : never;

/**
 * matmul's result: broadcast batch dims, then rows of the lhs and columns of the rhs.
 * @example type S = MatmulShape<[Sym<"b">, 784], [784, 10], {}>; // [b, 10]
 */
export type MatmulShape<SA extends Shape, SB extends Shape, O> = [
  IsStatic<SA>,
  IsStatic<SB>,
  Flag<O, "transposeA">,
  Flag<O, "transposeB">,
] extends [true, true, boolean, boolean]
  ? [Matrix<SA, Flag<O, "transposeA">>, Matrix<SB, Flag<O, "transposeB">>] extends [
      [infer BA extends Shape, infer M, unknown],
      [infer BB extends Shape, unknown, infer N],
    ]
    ? BroadcastShapes<BA, BB> extends infer Batch extends Shape
      ? [...Batch, M, N]
      : DynamicShape
    : DynamicShape
  : DynamicShape;

/** The error at oneHot's depth argument: it must be a positive integer. */
export type OneHotDepthError<N extends number> = number extends N
  ? never
  : IsNatural<N> extends true
    ? N extends 0
      ? "⛔ oneHot: depth must be a positive integer, got 0"
      : never
    : `⛔ oneHot: depth must be a positive integer, got ${N}`;

type Contradicts<A extends readonly unknown[], B extends readonly unknown[]> = A extends readonly [infer HA, ...infer TA]
  ? B extends readonly [infer HB, ...infer TB]
    ? DimCompatible<HA, HB> extends true
      ? Contradicts<TA, TB>
      : true
    : true
  : B extends readonly []
    ? false
    : true;

/**
 * The error at assertShape's shape argument: a claim that cannot hold given the
 * tensor's static shape (so the run-time check would surely fail), or a bad dim.
 */
export type AssertShapeError<S extends Shape, T extends Shape> = [InvalidDimError<"assertShape", T>] extends [never]
  ? [IsStatic<S>, IsStatic<T>] extends [true, true]
    ? Contradicts<S, T> extends true
      ? `⛔ assertShape: ${ShowShape<T>} contradicts the static shape ${ShowShape<S>}`
      : never
    : never
  : InvalidDimError<"assertShape", T>;
