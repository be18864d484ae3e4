/**
 * Type-level rules for ops that join, cut and index tensors: concat, slice, pad, gather
 * and scatterAdd.
 *
 * Takes input shapes, dtypes and literal arguments; gives the result shape or a message
 * naming the op, the inputs' shapes and the axis. Sizes along the concat axis add, and
 * slice and pad sizes are computed, with digit arithmetic. Arguments that are not
 * literals (or unknown dims) make the affected dims `number`; unknown ranks make the
 * result dynamic.
 */
import type { DType } from "../ops.js";
import type { Tensor } from "../tensor.js";
import type { DynamicShape, Shape } from "./dims.js";
import type { AddNat, CompareNat, DivCeilNat, IsNatural, SubNat, SumNat } from "./arith.js";
import type { ShowDim, ShowShape } from "./format.js";
import type { AxisRangeMessage } from "./reduce.js";
import type { IsSingleDType } from "./dtypes.js";
import type {
  DimCompatible,
  DropFirst,
  HasUnknownDim,
  IsStatic,
  IsSymDim,
  IsUnknownDim,
  NormalizeAxis,
  ReplaceAt,
  TakeFirst,
} from "./shapeTuples.js";

type ShapeOfTensor<T> = T extends Tensor<infer S extends Shape, DType> ? S : DynamicShape;
type DTypeOfTensor<T> = T extends Tensor<Shape, infer D extends DType> ? D : DType;

// ---- concat ------------------------------------------------------------------------

type FirstShape<Xs extends readonly unknown[]> = Xs extends readonly [infer H, ...unknown[]] ? ShapeOfTensor<H> : DynamicShape;

/** The concat axis normalized against the first input: a literal, `number`, or `never`. */
type ConcatAxis<Xs extends readonly unknown[], Ax extends number> = NormalizeAxis<FirstShape<Xs>, Ax>;

/** The error at concat's axis argument. */
export type ConcatAxisError<Xs extends readonly unknown[], Ax extends number> =
  IsStatic<FirstShape<Xs>> extends true
    ? [ConcatAxis<Xs, Ax>] extends [never]
      ? AxisRangeMessage<"concat", FirstShape<Xs>, Ax>
      : never
    : never;

type FirstOffAxisMismatch<A extends readonly unknown[], B extends readonly unknown[], Ax, I extends unknown[] = []> = A extends readonly [
  infer HA,
  ...infer TA,
]
  ? B extends readonly [infer HB, ...infer TB]
    ? I["length"] extends Ax
      ? FirstOffAxisMismatch<TA, TB, Ax, [...I, 0]>
      : DimCompatible<HA, HB> extends true
        ? FirstOffAxisMismatch<TA, TB, Ax, [...I, 0]>
        : I["length"]
    : never
  : never;

type ConcatInputError<S0 extends Shape, D0, X, J extends number, Ax extends number> =
  ShapeOfTensor<X> extends infer SJ extends Shape
    ? [IsSingleDType<D0>, IsSingleDType<DTypeOfTensor<X>>, [D0] extends [DTypeOfTensor<X>] ? true : false] extends [true, true, false]
      ? `⛔ concat: dtypes differ: ${D0 & string} (input 0) vs ${DTypeOfTensor<X> & string} (input ${J})`
      : IsStatic<SJ> extends true
        ? SJ["length"] extends S0["length"]
          ? number extends Ax
            ? never
            : FirstOffAxisMismatch<S0, SJ, Ax> extends infer K
              ? [K] extends [never]
                ? never
                : `⛔ concat: dim ${K & number} differs: ${ShowShape<S0>} (input 0) vs ${ShowShape<SJ>} (input ${J})`
              : never
          : `⛔ concat: ranks differ: ${ShowShape<S0>} (input 0) vs ${ShowShape<SJ>} (input ${J})`
        : never
    : never;

type ConcatInputsError<S0 extends Shape, D0, Xs extends readonly unknown[], Ax extends number, J extends unknown[] = [0]> = Xs extends readonly [
  infer X,
  ...infer Rest,
]
  ? ConcatInputError<S0, D0, X, J["length"], Ax> extends infer E
    ? [E] extends [never]
      ? ConcatInputsError<S0, D0, Rest, Ax, [...J, 0]>
      : E
    : never
  : never;

type AxisDims<Xs extends readonly unknown[], Ax extends number, Acc extends unknown[] = []> = Xs extends readonly [infer X, ...infer Rest]
  ? AxisDims<Rest, Ax, [...Acc, ShapeOfTensor<X>[Ax]]>
  : Acc;

type JoinShapes<Xs extends readonly unknown[], Acc extends string = "", First extends boolean = true> = Xs extends readonly [
  infer X,
  ...infer Rest,
]
  ? JoinShapes<Rest, First extends true ? ShowShape<ShapeOfTensor<X>> : `${Acc}, ${ShowShape<ShapeOfTensor<X>>}`, false>
  : Acc;

type HasSym<L extends readonly unknown[]> = L extends readonly [infer H, ...infer T] ? (IsSymDim<H> extends true ? true : HasSym<T>) : false;

/**
 * The error at concat's inputs: no inputs, dtypes or ranks that differ, an other dim
 * that differs, or symbolic sizes along the axis.
 * @example type E = ConcatError<[Tensor<[2, 3]>, Tensor<[4, 4]>], 0>; // "⛔ concat: dim 1 differs: [2, 3] (input 0) vs [4, 4] (input 1)"
 */
export type ConcatError<Xs extends readonly unknown[], Ax extends number> = Xs extends readonly []
  ? "⛔ concat: needs at least one input"
  : IsStatic<Xs> extends true
    ? Xs extends readonly [infer X0, ...infer Rest]
      ? ShapeOfTensor<X0> extends infer S0 extends Shape
        ? IsStatic<S0> extends true
          ? ConcatAxis<Xs, Ax> extends infer I extends number
            ? ConcatInputsError<S0, DTypeOfTensor<X0>, Rest, I> extends infer E
              ? [E] extends [never]
                ? number extends I
                  ? never
                  : Rest extends readonly []
                    ? never
                    : HasSym<AxisDims<Xs, I>> extends true
                      ? `⛔ concat: cannot concatenate along symbolic dims: ${JoinShapes<Xs>}`
                      : never
                : E
              : never
            : never
          : never
        : never
      : never
    : never;

type AllStatic<Xs extends readonly unknown[]> = Xs extends readonly [infer X, ...infer Rest]
  ? IsStatic<ShapeOfTensor<X>> extends true
    ? AllStatic<Rest>
    : false
  : true;

type ConcatSize<Dims extends readonly unknown[]> = Dims extends readonly [infer Only]
  ? Only
  : HasUnknownDim<Dims> extends true
    ? number
    : Dims extends readonly number[]
      ? SumNat<Dims>
      : number;

/** concat's result: the first input's shape with the axis sizes added. @example type S = ConcatShape<[Tensor<[2, 3]>, Tensor<[2, 4]>], 1>; // [2, 7] */
export type ConcatShape<Xs extends readonly unknown[], Ax extends number> =
  IsStatic<Xs> extends true
    ? AllStatic<Xs> extends true
      ? ConcatAxis<Xs, Ax> extends infer I extends number
        ? number extends I
          ? DynamicShape
          : ReplaceAt<FirstShape<Xs>, I, ConcatSize<AxisDims<Xs, I>>>
        : DynamicShape
      : DynamicShape
    : DynamicShape;

/** The dtype of concat's result (the first input's). */
export type ConcatDType<Xs extends readonly unknown[]> = Xs extends readonly [infer X0, ...unknown[]] ? DTypeOfTensor<X0> : DTypeOfTensor<Xs[number]>;

// ---- slice and pad -------------------------------------------------------------------

/** A literal index with negative values counted from the end of a literal dim (-1 when before the start). */
type FromEnd<I extends number, D extends number> = `${I}` extends `-${infer P extends number}`
  ? [SubNat<D, P>] extends [never]
    ? -1
    : SubNat<D, P>
  : I;

type SliceSize<S0 extends Shape, D, R, Ax extends number> = R extends null
  ? D
  : R extends readonly [infer B extends number, infer E extends number, ...infer Step extends number[]]
    ? IsSymDim<D> extends true
      ? `⛔ slice: cannot slice symbolic dim ${ShowDim<D>} (axis ${Ax} of ${ShowShape<S0>})`
      : (Step extends readonly [infer St extends number] ? St : 1) extends infer St extends number
        ? number extends St
          ? number
          : IsNatural<St> extends false
            ? `⛔ slice: step ${St} on axis ${Ax} must be a positive integer`
            : St extends 0
              ? `⛔ slice: step 0 on axis ${Ax} must be a positive integer`
              : IsUnknownDim<D> extends true
                ? number
                : number extends B | E
                  ? number
                  : [FromEnd<B, D & number>, FromEnd<E, D & number>] extends [infer B1 extends number, infer E1 extends number]
                    ? [IsNatural<B1>, IsNatural<E1>, CompareNat<E1, D & number>, CompareNat<B1, E1>] extends [true, true, "lt" | "eq", "lt" | "eq"]
                      ? DivCeilNat<SubNat<E1, B1>, St>
                      : `⛔ slice: range ${B}:${E} is outside axis ${Ax} of ${ShowShape<S0>}`
                    : `⛔ slice: range ${B}:${E} is outside axis ${Ax} of ${ShowShape<S0>}`
        : never
    : number;

type SliceLoop<S0 extends Shape, S extends readonly unknown[], R extends readonly unknown[], Acc extends unknown[] = []> = R extends readonly [
  infer H,
  ...infer RT,
]
  ? S extends readonly [infer D, ...infer ST]
    ? SliceSize<S0, D, H, Acc["length"]> extends infer Size
      ? Size extends string
        ? Size
        : SliceLoop<S0, ST, RT, [...Acc, Size]>
      : never
    : `⛔ slice: ${Acc["length"]} ranges or more for rank ${S0["length"]} (${ShowShape<S0>})`
  : [...Acc, ...S];

/**
 * slice's result (ranges on the leading axes; `null` keeps an axis), or a message.
 * @example type S = SliceShape<[4, 5], [[1, 3], [0, -1, 2]]>; // [2, 2]
 */
export type SliceShape<S extends Shape, R extends readonly unknown[]> = [IsStatic<S>, IsStatic<R>] extends [true, true]
  ? SliceLoop<S, S, R>
  : DynamicShape;

type PadSize<S0 extends Shape, D, W, Ax extends number> = W extends readonly [infer B extends number, infer E extends number]
  ? number extends B | E
    ? number
    : [IsNatural<B>, IsNatural<E>] extends [true, true]
      ? IsSymDim<D> extends true
        ? [B, E] extends [0, 0]
          ? D
          : `⛔ pad: cannot pad symbolic dim ${ShowDim<D>} (axis ${Ax} of ${ShowShape<S0>})`
        : IsUnknownDim<D> extends true
          ? number
          : AddNat<AddNat<D & number, B>, E>
      : `⛔ pad: padding on axis ${Ax} must be non-negative integers, got ${B}, ${E}`
  : number;

type PadLoop<S0 extends Shape, S extends readonly unknown[], W extends readonly unknown[], Acc extends unknown[] = []> = S extends readonly [
  infer D,
  ...infer ST,
]
  ? W extends readonly [infer H, ...infer WT]
    ? PadSize<S0, D, H, Acc["length"]> extends infer Size
      ? Size extends string
        ? Size
        : PadLoop<S0, ST, WT, [...Acc, Size]>
      : never
    : never
  : Acc;

/** pad's result (`[before, after]` per axis), or a message. @example type S = PadShape<[2, 28], [[0, 0], [2, 2]]>; // [2, 32] */
export type PadShape<S extends Shape, W extends readonly unknown[]> = [IsStatic<S>, IsStatic<W>] extends [true, true]
  ? W["length"] extends S["length"]
    ? PadLoop<S, S, W>
    : `⛔ pad: padding needs ${S["length"]} entries before and after for ${ShowShape<S>}`
  : DynamicShape;

// ---- gather and scatterAdd -------------------------------------------------------------

/** `S` with the dim at axis `I` replaced by all the dims of `Inner`. */
type SpliceDims<S extends readonly unknown[], I extends number, Inner extends readonly unknown[]> =
  DropFirst<S, I> extends readonly [unknown, ...infer After] ? [...TakeFirst<S, I>, ...Inner, ...After] : never;

/**
 * gather's result: the indexed axis replaced by the indices' shape.
 * @example type S = GatherShape<[1000, 64], [Sym<"b">, 20], 0>; // [b, 20, 64]
 */
export type GatherShape<S extends Shape, SI extends Shape, Ax extends number> = [IsStatic<S>, IsStatic<SI>] extends [true, true]
  ? NormalizeAxis<S, Ax> extends infer I extends number
    ? number extends I
      ? DynamicShape
      : SpliceDims<S, I, SI>
    : DynamicShape
  : DynamicShape;

/** The error at scatterAdd's updates: they must have the shape gather would give. */
export type ScatterAddUpdatesError<SU extends Shape, SI extends Shape, Ax extends number, T extends Shape> = GatherShape<
  T,
  SI,
  Ax
> extends infer Want extends Shape
  ? [IsStatic<SU>, IsStatic<Want>] extends [true, true]
    ? SameRankCompatible<SU, Want> extends true
      ? never
      : `⛔ scatterAdd: updates ${ShowShape<SU>} do not match ${ShowShape<Want>} (target ${ShowShape<T>}, indices ${ShowShape<SI>})`
    : never
  : never;

type SameRankCompatible<A extends readonly unknown[], B extends readonly unknown[]> = A extends readonly [infer HA, ...infer TA]
  ? B extends readonly [infer HB, ...infer TB]
    ? DimCompatible<HA, HB> extends true
      ? SameRankCompatible<TA, TB>
      : false
    : false
  : B extends readonly []
    ? true
    : false;
