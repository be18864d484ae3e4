/**
 * Type-level rules for ops that rearrange dims: reshape, flatten, transpose,
 * broadcastTo, expandDims and squeeze.
 *
 * Takes the input shape and the op's literal arguments; gives the result shape or a
 * message naming the op and the shapes. Reshape compares element counts after
 * cancelling dims that appear on both sides (symbolic ones included), then multiplies
 * what is left with digit arithmetic, so `[B, 224, 224, 3] -> [B, 150528]` is exact
 * and cheap. Unknown dims or ranks make the check pass and the result dynamic.
 */
import type { Dim, DynamicShape, Shape } from "./dims.js";
import type { ProductNat } from "./arith.js";
import type { ShowDim, ShowList, ShowShape } from "./format.js";
import type { AxisRangeMessage } from "./reduce.js";
import type {
  DimCompatible,
  DropFirst,
  FirstInvalidDim,
  HasDuplicate,
  HasUnknownDim,
  IsStatic,
  LiteralDims,
  NormalizeAxis,
  NormalizeAxisList,
  RemoveAt,
  ReverseTuple,
  SameDim,
  SymDims,
  TakeFirst,
} from "./shapeTuples.js";

// ---- element counts ------------------------------------------------------------------

type RemoveFirstSame<B extends readonly unknown[], H, Before extends unknown[] = []> = B extends readonly [infer X, ...infer Rest]
  ? SameDim<X, H> extends true
    ? [...Before, ...Rest]
    : RemoveFirstSame<Rest, H, [...Before, X]>
  : false;

/** Removes dims that appear in both shapes (once per occurrence): `[left of A, left of B]`. */
export type CancelShared<A extends readonly unknown[], B extends readonly unknown[], Kept extends unknown[] = []> = A extends readonly [
  infer H,
  ...infer T,
]
  ? RemoveFirstSame<B, H> extends infer R
    ? R extends readonly unknown[]
      ? CancelShared<T, R, Kept>
      : CancelShared<T, B, [...Kept, H]>
    : never
  : [Kept, B];

type JoinSyms<S extends readonly unknown[], Acc extends string = "", First extends boolean = true> = S extends readonly [infer H, ...infer T]
  ? JoinSyms<T, First extends true ? ShowDim<H> : `${Acc}*${ShowDim<H>}`, false>
  : Acc;

/** The element count as text, like the runtime: `784 elements`, `batch*784 elements`. */
export type SizeText<S extends readonly unknown[]> =
  JoinSyms<SymDims<S>> extends infer Syms extends string
    ? ProductNat<LiteralDims<S>> extends infer N extends number
      ? Syms extends ""
        ? `${N} elements`
        : N extends 1
          ? `${Syms} elements`
          : `${Syms}*${N} elements`
      : never
    : never;

/** True, false, or "unknown" (an unknown dim is left after cancelling). */
type SameCount<A extends readonly unknown[], B extends readonly unknown[]> =
  CancelShared<A, B> extends [infer RA extends readonly unknown[], infer RB extends readonly unknown[]]
    ? [HasUnknownDim<RA>, HasUnknownDim<RB>] extends [false, false]
      ? [SymDims<RA>, SymDims<RB>] extends [[], []]
        ? SameDim<ProductNat<LiteralDims<RA>>, ProductNat<LiteralDims<RB>>>
        : false
      : "unknown"
    : never;

/** The message for a shape with a negative or fractional dim, else `never`. */
export type InvalidDimError<K extends string, T extends readonly unknown[]> = [FirstInvalidDim<T>] extends [never]
  ? never
  : FirstInvalidDim<T> extends infer I extends number
    ? `⛔ ${K}: dim ${I} of ${ShowShape<T>} is ${ShowDim<T[I]>}: dims are non-negative integers or symbolic names`
    : never;

/**
 * The error at reshape's shape argument: a bad dim, or a different element count.
 * @example type E = ReshapeError<[Sym<"b">, 28, 28], [Sym<"b">, 785]>;
 * // "⛔ reshape: element count changes: [b, 28, 28] has b*784 elements, [b, 785] has b*785 elements"
 */
export type ReshapeError<S extends Shape, T extends Shape> = [InvalidDimError<"reshape", T>] extends [never]
  ? [IsStatic<S>, IsStatic<T>] extends [true, true]
    ? SameCount<S, T> extends false
      ? `⛔ reshape: element count changes: ${ShowShape<S>} has ${SizeText<S>}, ${ShowShape<T>} has ${SizeText<T>}`
      : never
    : never
  : InvalidDimError<"reshape", T>;

/**
 * `flatten`'s result: dims from `start` on multiplied into one, or a message.
 * @example type S = FlattenShape<[Sym<"b">, 224, 224, 3], 1>; // [b, 150528]
 */
export type FlattenShape<S extends Shape, Start extends number> =
  IsStatic<S> extends true
    ? NormalizeAxis<S, Start> extends infer I
      ? [I] extends [never]
        ? AxisRangeMessage<"flatten", S, Start>
        : I extends number
          ? number extends I
            ? DynamicShape
            : FlattenRest<S, Start, TakeFirst<S, I>, DropFirst<S, I>>
          : never
      : never
    : DynamicShape;

type FlattenRest<S extends Shape, Start, Head extends readonly unknown[], Rest extends readonly unknown[]> = Rest extends readonly [infer Only]
  ? [...Head, Only]
  : HasUnknownDim<Rest> extends true
    ? [...Head, number]
    : SymDims<Rest> extends [infer Sym, ...unknown[]]
      ? `⛔ flatten: cannot flatten symbolic dim ${ShowDim<Sym>} of ${ShowShape<S>} from axis ${ShowList<Start>}`
      : [...Head, ProductNat<LiteralDims<Rest>>];

// ---- transpose -------------------------------------------------------------------------

type PickDims<S extends readonly unknown[], P extends readonly number[], Acc extends unknown[] = []> = P extends readonly [
  infer H extends number,
  ...infer T extends number[],
]
  ? PickDims<S, T, [...Acc, S[H]]>
  : Acc;

/** A normalized permutation of the axes of `S`, or a message, or `"unknown"`. */
type NormalizedPerm<S extends Shape, P> = [P] extends [readonly number[]]
  ? (P extends readonly number[] ? NormalizeAxisList<S, P> : never) extends infer N
    ? N extends "unknown"
      ? "unknown"
      : N extends readonly number[]
        ? N["length"] extends S["length"]
          ? HasDuplicate<N> extends true
            ? PermMessage<S, P>
            : N
          : PermMessage<S, P>
        : PermMessage<S, P>
    : never
  : "unknown";

type PermMessage<S extends Shape, P> = `⛔ transpose: perm ${ShowList<P>} is not a permutation of the ${S["length"]} axes of ${ShowShape<S>}`;

/** The error at transpose's perm argument. @example type E = TransposeError<[2, 3], [0, 0]>; // "⛔ transpose: perm [0, 0] is not a permutation of the 2 axes of [2, 3]" */
export type TransposeError<S extends Shape, P> = IsStatic<S> extends true
  ? NormalizedPerm<S, P> extends infer N
    ? N extends `⛔${string}`
      ? N
      : never
    : never
  : never;

/** transpose's result: dims permuted (reversed when `P` is undefined). @example type S = TransposeShape<[2, 3, 4], [0, 2, 1]>; // [2, 4, 3] */
export type TransposeShape<S extends Shape, P> =
  IsStatic<S> extends true
    ? [P] extends [undefined]
      ? ReverseTuple<S>
      : NormalizedPerm<S, P> extends infer N
        ? N extends readonly number[]
          ? PickDims<S, N>
          : DynamicShape
        : never
    : DynamicShape;

// ---- broadcastTo, expandDims, squeeze --------------------------------------------------------

type FitsInto<S extends readonly unknown[], T extends readonly unknown[]> = S extends readonly [...infer SI, infer SL]
  ? T extends readonly [...infer TI, infer TL]
    ? [SL] extends [1]
      ? FitsInto<SI, TI>
      : DimCompatible<SL, TL> extends true
        ? FitsInto<SI, TI>
        : false
    : false
  : true;

/** The error at broadcastTo's shape argument. */
export type BroadcastToError<S extends Shape, T extends Shape> = [InvalidDimError<"broadcastTo", T>] extends [never]
  ? [IsStatic<S>, IsStatic<T>] extends [true, true]
    ? FitsInto<S, T> extends true
      ? never
      : `⛔ broadcastTo: cannot broadcast ${ShowShape<S>} to ${ShowShape<T>}`
    : never
  : InvalidDimError<"broadcastTo", T>;

/** The error at expandDims's axis argument (an axis of the result, so `[-rank-1, rank]`). */
export type ExpandDimsError<S extends Shape, Ax extends number> = IsStatic<S> extends true
  ? [NormalizeAxis<[...S, Dim], Ax>] extends [never]
    ? `⛔ expandDims: axis ${ShowList<Ax>} out of range for inserting into ${ShowShape<S>}`
    : never
  : never;

/** expandDims's result: a 1 inserted at the axis. @example type S = ExpandDimsShape<[3], -1>; // [3, 1] */
export type ExpandDimsShape<S extends Shape, Ax extends number> =
  IsStatic<S> extends true
    ? NormalizeAxis<[...S, Dim], Ax> extends infer I extends number
      ? number extends I
        ? DynamicShape
        : [...TakeFirst<S, I>, 1, ...DropFirst<S, I>]
      : DynamicShape
    : DynamicShape;

type SqueezeAxes<S extends Shape, Ax> = [Ax] extends [undefined]
  ? "all"
  : [Ax] extends [number]
    ? NormalizeAxisList<S, [Ax & number]>
    : [Ax] extends [readonly number[]]
      ? Ax extends readonly number[] ? NormalizeAxisList<S, Ax> : never
      : "unknown";

type FirstNotOne<S extends Shape, Axes extends readonly number[]> = Axes extends readonly [infer H extends number, ...infer T extends number[]]
  ? [S[H]] extends [1]
    ? FirstNotOne<S, T>
    : DimCompatible<S[H], 1> extends true
      ? FirstNotOne<S, T>
      : H
  : never;

/**
 * The error at squeeze's axes argument: out of range, repeated, or a dim that is not 1.
 * @example type E = SqueezeError<[Sym<"b">, 3], 1>; // "⛔ squeeze: axis 1 of [b, 3] has size 3, not 1"
 */
export type SqueezeError<S extends Shape, Ax> =
  IsStatic<S> extends true
    ? SqueezeAxes<S, Ax> extends infer N
      ? N extends ["out", infer Bad]
        ? AxisRangeMessage<"squeeze", S, Bad>
        : N extends readonly number[]
          ? HasDuplicate<N> extends true
            ? `⛔ squeeze: axes ${ShowList<Ax>} repeat an axis`
            : FirstNotOne<S, N> extends infer I
              ? [I] extends [never]
                ? never
                : I extends number
                  ? `⛔ squeeze: axis ${I} of ${ShowShape<S>} has size ${ShowDim<S[I]>}, not 1`
                  : never
              : never
          : never
      : never
    : never;

type DropOnes<S extends readonly unknown[], Acc extends unknown[] = []> = S extends readonly [infer H, ...infer T]
  ? DropOnes<T, [H] extends [1] ? Acc : [...Acc, H]>
  : Acc;

/** squeeze's result: the given axes removed, or every literal 1 when no axes are given. @example type S = SqueezeShape<[1, 3, 1], undefined>; // [3] */
export type SqueezeShape<S extends Shape, Ax> =
  IsStatic<S> extends true
    ? SqueezeAxes<S, Ax> extends infer N
      ? N extends "all"
        ? HasUnknownDim<S> extends true
          ? DynamicShape
          : DropOnes<S>
        : N extends readonly number[]
          ? RemoveAt<S, N[number]>
          : DynamicShape
      : never
    : DynamicShape;
