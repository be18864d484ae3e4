/**
 * Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, comparisons
 * giving bool masks, and `where`. A plain number operand becomes a scalar constant of
 * the other operand's dtype.
 *
 * Static types: the result shape is the broadcast of the operands' shapes; a shape or
 * dtype mistake is a type error at the offending argument (see `src/types/elementwise.ts`).
 */
import { Op, type BinaryOp, type CompareOp, type DType, type UnaryOp } from "../ops.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import {
  withStaticType,
  type Check,
  type Failed,
  type OpResult,
  type Operand,
} from "../types/result.js";
import type {
  BinaryDType,
  BinaryLhsError,
  BinaryRhsError,
  BinaryShape,
  UnaryError,
  WhereBranchError,
  WhereMaskError,
  WhereShape,
} from "../types/elementwise.js";
import { apply } from "./apply.js";
import { scalar } from "./constructors.js";

/** A unary elementwise op: same shape and dtype; float-only ops reject i32 and bool at the type level. */
export type UnaryFn<K extends UnaryOp> = <S extends Shape, D extends DType>(
  x: Check<UnaryError<K, S, D>, Tensor<S, D>>,
) => [UnaryError<K, S, D>] extends [never] ? Tensor<S, D> : Failed;

/** A broadcasting binary op on tensors or plain numbers. */
export type BinaryFn<K extends BinaryOp> = <A extends Operand, B extends Operand>(
  a: Check<BinaryLhsError<K, A, B>, A>,
  b: Check<BinaryRhsError<K, A, B>, B>,
) => OpResult<BinaryLhsError<K, A, B> | BinaryRhsError<K, A, B>, BinaryShape<K, A, B>, BinaryDType<A, B>>;

/** A broadcasting comparison giving a bool mask. */
export type CompareFn<K extends CompareOp> = <A extends Operand, B extends Operand>(
  a: Check<BinaryLhsError<K, A, B>, A>,
  b: Check<BinaryRhsError<K, A, B>, B>,
) => OpResult<BinaryLhsError<K, A, B> | BinaryRhsError<K, A, B>, BinaryShape<K, A, B>, "bool">;

const unary = <K extends UnaryOp>(op: K): UnaryFn<K> =>
  ((x: AnyTensor) => apply(op, [x], {} as never)) as unknown as UnaryFn<K>;

const operands = (a: Operand, b: Operand): [AnyTensor, AnyTensor] => {
  if (typeof a === "number" && typeof b === "number") return [scalar(a), scalar(b)];
  if (typeof a === "number") return [scalar(a, (b as AnyTensor).node.dtype), b as AnyTensor];
  if (typeof b === "number") return [a, scalar(b, a.node.dtype)];
  return [a, b];
};

const binary = <K extends BinaryOp>(op: K): BinaryFn<K> =>
  ((a: Operand, b: Operand) => apply(op, operands(a, b), {} as never)) as unknown as BinaryFn<K>;

const compare = <K extends CompareOp>(op: K): CompareFn<K> =>
  ((a: Operand, b: Operand) => apply(op, operands(a, b), {} as never)) as unknown as CompareFn<K>;

/** -x. @example const y = neg(x); // same shape and dtype as x */
export const neg = unary(Op.Neg);
/** |x|. @example const m = abs(x); */
export const abs = unary(Op.Abs);
/** -1, 0 or 1. @example const s = sign(x); */
export const sign = unary(Op.Sign);
/** e^x (f32/f64 only: `exp` of an i32 tensor is a type error). @example const y = exp(x); */
export const exp = unary(Op.Exp);
/** Natural logarithm (f32/f64 only). @example const l = log(p); */
export const log = unary(Op.Log);
/** Square root (f32/f64 only). @example const r = sqrt(v); */
export const sqrt = unary(Op.Sqrt);
/** x². @example const sq = square(x); */
export const square = unary(Op.Square);
/** Hyperbolic tangent (f32/f64 only). @example const h = tanh(x); */
export const tanh = unary(Op.Tanh);
/** 1 / (1 + e^-x), computed without overflow (f32/f64 only). @example const p = sigmoid(logit); */
export const sigmoid = unary(Op.Sigmoid);
/** max(x, 0). @example const h = relu(add(matmul(x, W), b)); */
export const relu = unary(Op.Relu);
/** Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (f32/f64 only). @example const h = gelu(x); */
export const gelu = unary(Op.Gelu);
/** log(1 + e^x), computed without overflow (f32/f64 only). @example const s = softplus(x); */
export const softplus = unary(Op.Softplus);
/** Sine (f32/f64 only). @example const s = sin(x); */
export const sin = unary(Op.Sin);
/** Cosine (f32/f64 only). @example const c = cos(x); */
export const cos = unary(Op.Cos);
/** Gauss error function (f32/f64 only). @example const e = erf(x); */
export const erf = unary(Op.Erf);

/**
 * a + b, broadcasting.
 * @example const y = add(matmul(x, W), b); // [batch, 10] + [10] -> [batch, 10]
 */
export const add = binary(Op.Add);
/** a - b, broadcasting. @example const centered = sub(x, mean(x, 0)); // [B, 10] - [10] */
export const sub = binary(Op.Sub);
/** a · b, broadcasting. @example const half = mul(x, 0.5); */
export const mul = binary(Op.Mul);
/** a / b, broadcasting (f32/f64 only). @example const half = div(x, 2); */
export const div = binary(Op.Div);
/** a^b, broadcasting (f32/f64 only). @example const cube = pow(x, 3); */
export const pow = binary(Op.Pow);
/** Elementwise maximum, broadcasting. @example const clipped = maximum(x, 0); */
export const maximum = binary(Op.Maximum);
/** Elementwise minimum, broadcasting. @example const capped = minimum(x, 6); */
export const minimum = binary(Op.Minimum);
/** a · b, but 0 wherever a is 0 (even when b is inf or NaN) (f32/f64 only). @example const g = mulNoNan(mask, grad); */
export const mulNoNan = binary(Op.MulNoNan);

/** a < b as a bool mask. @example const m = less(x, 0); // Tensor<shape of x, "bool"> */
export const less = compare(Op.Less);
/** a <= b as a bool mask. @example const m = lessEqual(x, 1); */
export const lessEqual = compare(Op.LessEqual);
/** a > b as a bool mask. @example const m = greater(x, 0); */
export const greater = compare(Op.Greater);
/** a >= b as a bool mask. @example const m = greaterEqual(x, 0); */
export const greaterEqual = compare(Op.GreaterEqual);
/** a == b as a bool mask (any dtype). @example const hit = equal(argmax(logits), labels); */
export const equal = compare(Op.Equal);
/** a != b as a bool mask (any dtype). @example const miss = notEqual(predicted, labels); */
export const notEqual = compare(Op.NotEqual);

/**
 * Picks `a` where `mask` is true and `b` elsewhere, broadcasting all three. The mask
 * must be bool; the branches must have the same dtype.
 * @example const y = where(greater(x, 0), x, mul(x, 0.01)); // leaky relu
 */
export const where = <M extends AnyTensor, A extends Operand, B extends Operand>(
  mask: Check<WhereMaskError<M, A, B>, M>,
  a: A,
  b: Check<WhereBranchError<A, B>, B>,
): OpResult<WhereMaskError<M, A, B> | WhereBranchError<A, B>, WhereShape<M, A, B>, BinaryDType<A, B>> => {
  const [x, y] = operands(a, b as Operand);
  return withStaticType(apply<Shape, DType, typeof Op.Where>(Op.Where, [mask as AnyTensor, x, y], {}));
};
