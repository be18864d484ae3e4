/**
 * erf and erfc in float64 as compositions of elementwise ONNX ops.
 *
 * ONNX Runtime's CPU provider has no double kernel for Erf, and a float Erf would lose
 * the f64 accuracy typegrad guarantees. Takes a double ONNX value; emits W. J. Cody's
 * rational Chebyshev approximations in the same form and evaluation order as the
 * reference kernel (runtime/kernels/scalar.ts), so both engines agree to a few ulps over
 * the whole real line, including erfc's relative accuracy in the far tail. Each branch
 * is computed everywhere and selected with Where; NaN propagates.
 */
import type { OnnxEmitter } from "./emit.js";
import { CODY_ERF } from "../../runtime/kernels/scalar.js";

// The reference kernel's coefficients (Cody 1969, as in SPECFUN's CALERF).
const { A, B, C, D, P, Q, ONE_OVER_SQRT_PI, ERF_SMALL, ERFC_UNDERFLOW } = CODY_ERF;

/** Small helpers over double values: every call appends one ONNX node. */
const algebra = (emit: OnnxEmitter) => {
  const c = (v: number): string => emit.scalar(v, "f64");
  const add = (a: string, b: string): string => emit.op("Add", [a, b]);
  const mul = (a: string, b: string): string => emit.op("Mul", [a, b]);
  const div = (a: string, b: string): string => emit.op("Div", [a, b]);
  /** Horner steps `acc = (acc + k[i]) * t` for i < steps, starting from acc = lead * t and den = t. */
  const ratio = (t: string, lead: number, num: readonly number[], den: readonly number[], steps: number): { num: string; den: string } => {
    let n = mul(c(lead), t);
    let d = t;
    for (let i = 0; i < steps; i++) {
      n = mul(add(n, c(num[i]!)), t);
      d = mul(add(d, c(den[i]!)), t);
    }
    return { num: n, den: d };
  };
  return { c, add, mul, div, ratio, sub: (a: string, b: string): string => emit.op("Sub", [a, b]) };
};

/** erf(x) for |x| <= 0.46875 (valid elsewhere too, but only selected there). */
const erfSmall = (emit: OnnxEmitter, x: string, y: string): string => {
  const { c, add, mul, div, ratio } = algebra(emit);
  const ysq = mul(y, y);
  const r = ratio(ysq, A[4]!, A, B, 3);
  return div(mul(x, add(r.num, c(A[3]!))), add(r.den, c(B[3]!)));
};

/** erfc(y) for y > 0.46875, with exp(-y²) split as exp(-h²)·exp(-(y-h)(y+h)), h = floor(16y)/16. */
const erfcPositive = (emit: OnnxEmitter, y: string): string => {
  const { c, add, mul, div, sub, ratio } = algebra(emit);
  const mid = ratio(y, C[8]!, C, D, 7);
  const rMid = div(add(mid.num, c(C[7]!)), add(mid.den, c(D[7]!)));
  const inv = div(c(1), mul(y, y));
  const far = ratio(inv, P[5]!, P, Q, 4);
  const rFar = div(sub(c(ONE_OVER_SQRT_PI), div(mul(inv, add(far.num, c(P[4]!))), add(far.den, c(Q[4]!)))), y);
  const r = emit.op("Where", [emit.op("LessOrEqual", [y, c(4)]), rMid, rFar]);
  const head = div(emit.op("Floor", [mul(y, c(16))]), c(16));
  const tail = mul(sub(y, head), add(y, head));
  const scaled = mul(mul(emit.op("Exp", [emit.op("Neg", [mul(head, head)])]), emit.op("Exp", [emit.op("Neg", [tail])])), r);
  return emit.op("Where", [emit.op("GreaterOrEqual", [y, c(ERFC_UNDERFLOW)]), c(0), scaled]);
};

/**
 * erf(x) of a double value.
 * @example const e = erfF64(emit, x); // name of the ONNX value erf(x)
 */
export const erfF64 = (emit: OnnxEmitter, x: string): string => {
  const { c, add, sub } = algebra(emit);
  const y = emit.op("Abs", [x]);
  const e = add(sub(c(0.5), erfcPositive(emit, y)), c(0.5));
  const large = emit.op("Where", [emit.op("Less", [x, c(0)]), emit.op("Neg", [e]), e]);
  return emit.op("Where", [emit.op("LessOrEqual", [y, c(ERF_SMALL)]), erfSmall(emit, x, y), large]);
};

/**
 * erfc(x) = 1 - erf(x) of a double value, with full relative accuracy for large x.
 * @example const tail = erfcF64(emit, x);
 */
export const erfcF64 = (emit: OnnxEmitter, x: string): string => {
  const { c, sub } = algebra(emit);
  const y = emit.op("Abs", [x]);
  const positive = erfcPositive(emit, y);
  const large = emit.op("Where", [emit.op("Less", [x, c(0)]), sub(c(2), positive), positive]);
  return emit.op("Where", [emit.op("LessOrEqual", [y, c(ERF_SMALL)]), sub(c(1), erfSmall(emit, x, y)), large]);
};
