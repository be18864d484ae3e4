/**
 * Type-level rules for elementwise ops: NumPy broadcasting, binary arithmetic,
 * comparisons, `where`, and unary math.
 *
 * Takes operand types (tensors or plain numbers); gives the broadcast result shape or a
 * message naming the op and both shapes. Unknown dims (`number`) broadcast with
 * anything; a shape of unknown rank makes the result dynamic.
 */
import type { BinaryOp, CompareOp, DType, UnaryOp } from "../ops.js";
import type { DynamicShape, Shape } from "./dims.js";
import type { ShowDim, ShowShape } from "./format.js";
import type { DTypeClassError, DTypeMismatchError, IsSingleDType, KnownDType } from "./dtypes.js";
import type { FirstError, OperandDType, OperandShape } from "./result.js";
import type { IsStatic, IsUnknownDim, SameDim } from "./shapeTuples.js";

/** Marks the first pair of dims (from the right) that do not broadcast. */
interface Mismatch<A, B> {
  readonly lhsDim: A;
  readonly rhsDim: B;
}

type BroadcastDim<A, B> =
  SameDim<A, B> extends true
    ? A
    : IsUnknownDim<A> extends true
      ? [B] extends [1]
        ? A
        : B
      : IsUnknownDim<B> extends true
        ? [A] extends [1]
          ? B
          : A
        : [A] extends [1]
          ? B
          : [B] extends [1]
            ? A
            : Mismatch<A, B>;

type BroadcastLoop<A extends readonly unknown[], B extends readonly unknown[], Acc extends unknown[] = []> = A extends readonly [
  ...infer AI,
  infer AL,
]
  ? B extends readonly [...infer BI, infer BL]
    ? BroadcastDim<AL, BL> extends infer R
      ? R extends Mismatch<unknown, unknown>
        ? R
        : BroadcastLoop<AI, BI, [R, ...Acc]>
      : never
    : [...A, ...Acc]
  : [...B, ...Acc];

/**
 * The broadcast of two shapes, or `Mismatch` at the first incompatible pair; dynamic
 * when either rank is unknown.
 * @example type S = BroadcastShapes<[Sym<"batch">, 1, 3], [4, 1]>; // [batch, 4, 3]
 */
export type BroadcastShapes<A extends Shape, B extends Shape> = [IsStatic<A>, IsStatic<B>] extends [true, true]
  ? BroadcastLoop<A, B>
  : DynamicShape;

/** Broadcasts two shapes or gives the message `⛔ <op>: cannot broadcast ...`. */
export type Broadcast<K extends string, A extends Shape, B extends Shape, LA extends string = "lhs", LB extends string = "rhs"> =
  BroadcastShapes<A, B> extends infer R
    ? R extends Mismatch<infer DA, infer DB>
      ? `⛔ ${K}: cannot broadcast ${ShowShape<A>} (${LA}) with ${ShowShape<B>} (${LB}): ${ShowDim<DA>} vs ${ShowDim<DB>}`
      : R
    : never;

// ---- unary -------------------------------------------------------------------------

/** The error of unary op `K` on a tensor of shape `S`, dtype `D` (a dtype class check). */
export type UnaryError<K extends UnaryOp, S extends Shape, D> = DTypeClassError<K, D, S>;

// ---- binary and comparisons ----------------------------------------------------------

/**
 * The error at a binary op's first argument: a tensor whose dtype the op cannot take.
 * @example type E = BinaryLhsError<"div", Tensor<[3], "i32">, 2>; // "⛔ div: needs f32 or f64, got i32 [3]"
 */
export type BinaryLhsError<K extends BinaryOp | CompareOp, A, B> = A extends number
  ? never
  : DTypeClassError<K, OperandDType<A, B>, OperandShape<A>>;

/**
 * The error at a binary op's second argument: dtypes differ, a dtype the op cannot take,
 * or shapes that do not broadcast (`never` when the first argument already failed).
 */
export type BinaryRhsError<K extends BinaryOp | CompareOp, A, B> = [BinaryLhsError<K, A, B>] extends [never]
  ? FirstError<
      [
        DTypeMismatchError<K, OperandDType<A, B>, OperandDType<B, A>, OperandShape<A>, OperandShape<B>>,
        DTypeClassError<K, OperandDType<B, A>, OperandShape<B>>,
        BinaryShape<K, A, B> extends infer R ? (R extends string ? R : never) : never,
      ]
    >
  : never;

/** A binary op's broadcast result shape, or its broadcast message. */
export type BinaryShape<K extends BinaryOp | CompareOp, A, B> = Broadcast<K, OperandShape<A>, OperandShape<B>>;
/** The dtype of a binary op's result (comparisons give bool instead). */
export type BinaryDType<A, B> = KnownDType<OperandDType<A, B> & DType, OperandDType<B, A> & DType>;

// ---- where -------------------------------------------------------------------------

type BranchShape<A, B> = Broadcast<"where", OperandShape<A>, OperandShape<B>, "then", "else">;

/** The error of the `where` branches (at the else argument): dtypes or broadcasting. */
export type WhereBranchError<A, B> =
  DTypeMismatchError<
    "where",
    OperandDType<A, B>,
    OperandDType<B, A>,
    OperandShape<A>,
    OperandShape<B>,
    "branch dtypes",
    "then",
    "else"
  > extends infer E
    ? [E] extends [never]
      ? BranchShape<A, B> extends infer R
        ? R extends string
          ? R
          : never
        : never
      : E
    : never;

type MaskDTypeError<D, S extends Shape> = IsSingleDType<D> extends true
  ? [D] extends ["bool"]
    ? never
    : `⛔ where: mask must be bool, got ${D & string} ${ShowShape<S>}`
  : never;

type MaskRule<M, A, B> =
  OperandShape<M> extends infer SM extends Shape
    ? MaskDTypeError<OperandDType<M>, SM> extends infer E
      ? [E] extends [never]
        ? BranchShape<A, B> extends infer R
          ? R extends Shape
            ? Broadcast<"where", SM, R, "mask", "branches">
            : DynamicShape
          : never
        : E
      : never
    : never;

/** The error at `where`'s mask: not bool, or not broadcastable with the branches. */
export type WhereMaskError<M, A, B> = MaskRule<M, A, B> extends infer R ? (R extends string ? R : never) : never;
/** The result shape of `where` (when there is no error). */
export type WhereShape<M, A, B> = MaskRule<M, A, B>;
