/**
 * Type-level rules for conv2d and 2-D pooling over NCHW tensors (weights OIHW).
 *
 * Takes the operands' static shapes and dtypes and the literal options; gives the result
 * shape, with output sizes computed for literal dims (`[B, 1, 28, 28]` conv 3x3 stride 2
 * 'valid' -> `[B, C, 13, 13]`), or a message such as `⛔ conv2d: channels differ: input
 * [batch, 3, 28, 28] has 3 channels, the weights [16, 1, 3, 3] take 1`. Sizes that are not
 * literals (symbolic or `number`) skip the checks that need them and give `number` dims;
 * the runtime rules check them. Arithmetic is the digit arithmetic of `arith.ts`.
 */
import type { Dim, Shape, DynamicShape } from "./dims.js";
import type { AddNat, CompareNat, DivCeilNat, DivFloorNat, IsNatural, MulNat, SubNat } from "./arith.js";
import type { ShowShape } from "./format.js";
import type { DTypeClassError, DTypeMismatchError } from "./dtypes.js";
import type { IsStatic } from "./shapeTuples.js";

/** A size per axis: one number for both, or `[height, width]`. */
export type Pair = number | readonly [number, number];

/**
 * How a window is padded: 'valid' (none), 'same' (output size `ceil(size / stride)`, the
 * padding split with the extra element after), or explicit `[[top, bottom], [left, right]]`.
 */
export type Padding = "same" | "valid" | readonly [readonly [number, number], readonly [number, number]];

/** conv2d options; defaults: stride 1, padding 'valid', dilation 1, groups 1. */
export interface Conv2dOptions {
  readonly stride?: Pair;
  readonly padding?: Padding;
  readonly dilation?: Pair;
  /** Split input and output channels into this many independent convolutions (channels = groups: depthwise). */
  readonly groups?: number;
}

/** Pooling options: `kernel` is required; stride defaults to the kernel (non-overlapping windows), padding to 'valid'. */
export interface Pool2dOptions {
  readonly kernel: Pair;
  readonly stride?: Pair;
  readonly padding?: Padding;
}

type Lit<N> = IsNatural<N> extends true ? N & number : never;

/** True when every entry is a natural number literal. */
type AllLiteral<T extends readonly unknown[]> = T extends readonly [infer H, ...infer R] ? (IsNatural<H> extends true ? AllLiteral<R> : false) : true;

/** [height, width] of a Pair option: `[D, D]` when absent, `[number, number]` when not a literal. */
type PairOf<V, D> = [V] extends [undefined]
  ? [D, D]
  : [V] extends [readonly [infer A extends number, infer B extends number]]
    ? [A, B]
    : [V] extends [number]
      ? [V, V]
      : [number, number];

/** The option `K` of `O` (`undefined` when absent). */
type Opt<O, K extends string> = K extends keyof O ? O[K] : undefined;

/** "same", or the explicit [top, bottom, left, right] pads ("valid" is [0, 0, 0, 0]); "unknown" when not a literal. */
type PadsOf<P> = [P] extends ["same"]
  ? "same"
  : [P] extends [readonly [readonly [infer T extends number, infer B extends number], readonly [infer L extends number, infer R extends number]]]
    ? [T, B, L, R]
    : [P] extends ["valid" | undefined]
      ? [0, 0, 0, 0]
      : "unknown";

/** (k - 1)·d + 1 */
type Span<K, D> = AddNat<MulNat<SubNat<Lit<K>, 1>, Lit<D>>, 1>;

/** One axis: the output size, `number` when a size is not a literal, or ["big", span, padded] when the window does not fit. */
type AxisOut<N, K, S, D, Before, After, Same extends boolean> = AllLiteral<[N, K, S, D]> extends false
  ? number
  : Same extends true
    ? DivCeilNat<Lit<N>, Lit<S>>
    : AllLiteral<[Before, After]> extends false
      ? number
      : AddNat<AddNat<Lit<N>, Lit<Before>>, Lit<After>> extends infer Padded extends number
        ? CompareNat<Span<K, D>, Padded> extends "gt"
          ? ["big", Span<K, D>, Padded]
          : AddNat<DivFloorNat<SubNat<Padded, Span<K, D>>, Lit<S>>, 1>
        : number;

/** Output [height, width] of a window (results of `AxisOut`). */
type WindowOut<H, W, KH, KW, Strides extends [number, number], Dil extends [number, number], Pads> = Pads extends "same"
  ? [AxisOut<H, KH, Strides[0], Dil[0], 0, 0, true>, AxisOut<W, KW, Strides[1], Dil[1], 0, 0, true>]
  : Pads extends [infer T, infer B, infer L, infer R]
    ? [AxisOut<H, KH, Strides[0], Dil[0], T, B, false>, AxisOut<W, KW, Strides[1], Dil[1], L, R, false>]
    : [number, number];

type OutDim<A> = A extends number ? A : number;
type BigText<A> = A extends ["big", infer Span extends number, infer Padded extends number] ? [Span, Padded] : never;

/** The message when either axis of the window does not fit (`What` is "kernel" or "window"), else never. */
type FitError<K extends string, What extends string, Out extends readonly unknown[], SX extends Shape> = [BigText<Out[0]>, BigText<Out[1]>] extends [never, never]
  ? never
  : `⛔ ${K}: ${What} ${BigOr<Out[0], 0>}x${BigOr<Out[1], 0>} is larger than the padded input ${BigOr<Out[0], 1>}x${BigOr<Out[1], 1>} (input ${ShowShape<SX>})`;
type BigOr<A, I extends 0 | 1> = A extends ["big", infer Span extends number, infer Padded extends number] ? [Span, Padded][I] : "ok";

type RankError<K extends string, Role extends string, Layout extends string, S extends Shape> = IsStatic<S> extends true
  ? S extends readonly [unknown, unknown, unknown, unknown]
    ? never
    : `⛔ ${K}: ${Role} must be ${Layout}, got ${ShowShape<S>}`
  : never;

/**
 * The error at conv2d's input: a dtype other than f32/f64, or a rank other than 4.
 * @example type E = Conv2dInputError<[Sym<"b">, 784], "f32">; // "⛔ conv2d: input must be NCHW [batch, channels, height, width], got [b, 784]"
 */
export type Conv2dInputError<SX extends Shape, DX> = [DTypeClassError<"conv2d", DX, SX>] extends [never]
  ? RankError<"conv2d", "input", "NCHW [batch, channels, height, width]", SX>
  : DTypeClassError<"conv2d", DX, SX>;

type GroupsOf<O> = Opt<O, "groups"> extends infer G ? ([G] extends [undefined] ? 1 : G) : 1;

/** Whether `G` divides `N` (true when either is not a literal). */
type Divides<G, N> = AllLiteral<[G, N]> extends false ? true : Lit<G> extends 0 ? false : MulNat<DivFloorNat<Lit<N>, Lit<G>>, Lit<G>> extends N ? true : false;

type ConvOut<SX extends Shape, SW extends Shape, O> = SX extends readonly [unknown, unknown, infer H, infer W]
  ? SW extends readonly [unknown, unknown, infer KH, infer KW]
    ? WindowOut<H, W, KH, KW, PairOf<Opt<O, "stride">, 1>, PairOf<Opt<O, "dilation">, 1>, PadsOf<Opt<O, "padding">>>
    : [number, number]
  : [number, number];

/**
 * The error at conv2d's weights: dtypes differ, rank other than 4, groups that do not
 * divide the channels, channels that differ, or a kernel larger than the padded input
 * (`never` when the input already failed).
 * @example type E = Conv2dWeightsError<[B, 3, 28, 28], "f32", [16, 1, 3, 3], "f32", {}>;
 * // "⛔ conv2d: channels differ: input [B, 3, 28, 28] has 3 channels, the weights [16, 1, 3, 3] take 1"
 */
export type Conv2dWeightsError<SX extends Shape, DX, SW extends Shape, DW, O> = [Conv2dInputError<SX, DX>] extends [never]
  ? [DTypeMismatchError<"conv2d", DX, DW, SX, SW, "dtypes", "input", "weights">] extends [never]
    ? [RankError<"conv2d", "weights", "OIHW [out channels, in channels / groups, kernel height, kernel width]", SW>] extends [never]
      ? [SX, SW] extends [readonly [unknown, infer C, unknown, unknown], readonly [infer OC, infer CI, unknown, unknown]]
        ? Divides<GroupsOf<O>, C> extends false
          ? `⛔ conv2d: groups ${GroupsOf<O> & number} does not divide the ${C & number} input channels (input ${ShowShape<SX>})`
          : Divides<GroupsOf<O>, OC> extends false
            ? `⛔ conv2d: groups ${GroupsOf<O> & number} does not divide the ${OC & number} output channels (weights ${ShowShape<SW>})`
            : ChannelError<SX, SW, C, CI, GroupsOf<O>> extends infer Err
              ? [Err] extends [never]
                ? FitError<"conv2d", "kernel", ConvOut<SX, SW, O>, SX>
                : Err
              : never
        : never
      : RankError<"conv2d", "weights", "OIHW [out channels, in channels / groups, kernel height, kernel width]", SW>
    : DTypeMismatchError<"conv2d", DX, DW, SX, SW, "dtypes", "input", "weights">
  : never;

type ChannelError<SX extends Shape, SW extends Shape, C, CI, G> = AllLiteral<[C, CI, G]> extends true
  ? MulNat<Lit<CI>, Lit<G>> extends C
    ? never
    : `⛔ conv2d: channels differ: input ${ShowShape<SX>} has ${C & number} channels, the weights ${ShowShape<SW>} take ${CI & number}${G extends 1 ? "" : ` per group x ${G & number} groups = ${MulNat<Lit<CI>, Lit<G>>}`}`
  : never;

/**
 * conv2d's result: [batch, out channels, OH, OW].
 * @example type S = Conv2dShape<[B, 1, 28, 28], [32, 1, 3, 3], { stride: 2 }>; // [B, 32, 13, 13]
 */
export type Conv2dShape<SX extends Shape, SW extends Shape, O> = [IsStatic<SX>, IsStatic<SW>] extends [true, true]
  ? SX extends readonly [infer B extends Dim, unknown, unknown, unknown]
    ? SW extends readonly [infer OC extends Dim, unknown, unknown, unknown]
      ? ConvOut<SX, SW, O> extends [infer OH, infer OW]
        ? [B, OC, OutDim<OH>, OutDim<OW>]
        : DynamicShape
      : DynamicShape
    : DynamicShape
  : DynamicShape;

type PoolOut<SX extends Shape, O> = SX extends readonly [unknown, unknown, infer H, infer W]
  ? PairOf<Opt<O, "kernel">, 1> extends [infer KH, infer KW]
    ? WindowOut<H, W, KH, KW, PairOf<Opt<O, "stride">, never> extends [never, never] ? PairOf<Opt<O, "kernel">, 1> : PairOf<Opt<O, "stride">, 1>, [1, 1], PadsOf<Opt<O, "padding">>>
    : [number, number]
  : [number, number];

/**
 * The error at a pooling op's input: dtype, rank, or a window larger than the padded input.
 * @example type E = Pool2dError<"maxPool2d", [B, 1, 2, 2], "f32", { kernel: 3 }>; // "⛔ maxPool2d: window 3x3 is larger than the padded input 2x2 (input [B, 1, 2, 2])"
 */
export type Pool2dError<K extends string, SX extends Shape, DX, O> = [DTypeClassError<"maxPool2d", DX, SX>] extends [never]
  ? [RankError<K, "input", "NCHW [batch, channels, height, width]", SX>] extends [never]
    ? IsStatic<SX> extends true
      ? FitError<K, "window", PoolOut<SX, O>, SX>
      : never
    : RankError<K, "input", "NCHW [batch, channels, height, width]", SX>
  : `⛔ ${K}: needs f32 or f64, got ${DX & string} ${ShowShape<SX>}`;

/**
 * A pooling op's result: [batch, channels, OH, OW].
 * @example type S = Pool2dShape<[B, 16, 28, 28], { kernel: 2 }>; // [B, 16, 14, 14]
 */
export type Pool2dShape<SX extends Shape, O> = IsStatic<SX> extends true
  ? SX extends readonly [infer B extends Dim, infer C extends Dim, unknown, unknown]
    ? PoolOut<SX, O> extends [infer OH, infer OW]
      ? [B, C, OutDim<OH>, OutDim<OW>]
      : DynamicShape
    : DynamicShape
  : DynamicShape;

/**
 * The error at globalAvgPool's input: dtype or rank.
 * @example type E = GlobalPoolError<[B, 10], "f32">; // "⛔ globalAvgPool: input must be NCHW [batch, channels, height, width], got [B, 10]"
 */
export type GlobalPoolError<SX extends Shape, DX> = [DTypeClassError<"avgPool2d", DX, SX>] extends [never]
  ? RankError<"globalAvgPool", "input", "NCHW [batch, channels, height, width]", SX>
  : `⛔ globalAvgPool: needs f32 or f64, got ${DX & string} ${ShowShape<SX>}`;

/** globalAvgPool's result: [batch, channels]. */
export type GlobalPoolShape<SX extends Shape> = SX extends readonly [infer B extends Dim, infer C extends Dim, unknown, unknown] ? [B, C] : DynamicShape;
