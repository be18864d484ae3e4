/**
 * Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, comparisons
 * giving bool masks, and `where`. A plain number operand becomes a scalar constant of
 * the other operand's dtype.
 */
import { Op, type BinaryOp, type CompareOp, type DType, type UnaryOp } from "../ops.js";
import type { DynamicShape, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { apply } from "./apply.js";
import { scalar } from "./constructors.js";

const unary =
  <K extends UnaryOp>(op: K) =>
  <S extends Shape, D extends DType>(x: Tensor<S, D>): Tensor<S, D> =>
    apply<S, D, K>(op, [x], {} as never);

const operands = (a: AnyTensor | number, b: AnyTensor | number): [AnyTensor, AnyTensor] => {
  if (typeof a === "number" && typeof b === "number") return [scalar(a), scalar(b)];
  if (typeof a === "number") return [scalar(a, (b as AnyTensor).node.dtype), b as AnyTensor];
  if (typeof b === "number") return [a, scalar(b, a.node.dtype)];
  return [a, b];
};

const binary =
  <K extends BinaryOp>(op: K) =>
  (a: AnyTensor | number, b: AnyTensor | number): Tensor<DynamicShape, DType> =>
    apply<DynamicShape, DType, K>(op, operands(a, b), {} as never);

const compare =
  <K extends CompareOp>(op: K) =>
  (a: AnyTensor | number, b: AnyTensor | number): Tensor<DynamicShape, "bool"> =>
    apply<DynamicShape, "bool", K>(op, operands(a, b), {} as never);

/** -x */
export const neg = unary(Op.Neg);
/** |x| */
export const abs = unary(Op.Abs);
/** -1, 0 or 1 */
export const sign = unary(Op.Sign);
/** e^x */
export const exp = unary(Op.Exp);
/** Natural logarithm. */
export const log = unary(Op.Log);
/** Square root. */
export const sqrt = unary(Op.Sqrt);
/** x² */
export const square = unary(Op.Square);
/** Hyperbolic tangent. */
export const tanh = unary(Op.Tanh);
/** 1 / (1 + e^-x), computed without overflow. */
export const sigmoid = unary(Op.Sigmoid);
/** max(x, 0) */
export const relu = unary(Op.Relu);
/** Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export const gelu = unary(Op.Gelu);
/** log(1 + e^x), computed without overflow. */
export const softplus = unary(Op.Softplus);
/** Sine. */
export const sin = unary(Op.Sin);
/** Cosine. */
export const cos = unary(Op.Cos);
/** Gauss error function. */
export const erf = unary(Op.Erf);

/** a + b, broadcasting. */
export const add = binary(Op.Add);
/** a - b, broadcasting. */
export const sub = binary(Op.Sub);
/** a · b, broadcasting. */
export const mul = binary(Op.Mul);
/** a / b, broadcasting. */
export const div = binary(Op.Div);
/** a^b, broadcasting. */
export const pow = binary(Op.Pow);
/** Elementwise maximum, broadcasting. */
export const maximum = binary(Op.Maximum);
/** Elementwise minimum, broadcasting. */
export const minimum = binary(Op.Minimum);
/** a · b, but 0 wherever a is 0 (even when b is inf or NaN). */
export const mulNoNan = binary(Op.MulNoNan);

/** a < b as a bool mask. */
export const less = compare(Op.Less);
/** a <= b as a bool mask. */
export const lessEqual = compare(Op.LessEqual);
/** a > b as a bool mask. */
export const greater = compare(Op.Greater);
/** a >= b as a bool mask. */
export const greaterEqual = compare(Op.GreaterEqual);
/** a == b as a bool mask. */
export const equal = compare(Op.Equal);
/** a != b as a bool mask. */
export const notEqual = compare(Op.NotEqual);

/** Picks `a` where `mask` is true and `b` elsewhere, broadcasting all three. */
export const where = (mask: Tensor<Shape, "bool">, a: AnyTensor | number, b: AnyTensor | number): Tensor<DynamicShape, DType> => {
  const [x, y] = operands(a, b);
  return apply<DynamicShape, DType, typeof Op.Where>(Op.Where, [mask, x, y], {});
};
