/**
 * Vectorized f32x4 math for generated kernels: exp, log, log1p, tanh, sigmoid, softplus,
 * erf, erfc and gelu as inline WebAssembly SIMD code (no calls, no tables).
 *
 * Takes a code builder and the v128 local holding the argument; each function emits its
 * code and returns the local holding the result (fresh locals, so callers may reuse the
 * argument). Guarantees, for every f32 input (checked in `test/wasm/vmath.test.ts` against
 * Math.* and the reference kernels over wide ranges and the extremes): NaN in gives NaN
 * out; infinities, signed zeros, denormals and overflow/underflow give the limits of the
 * exact function; relative error is a few units in the last place where the result is a
 * normal float: exp, log 2 ulp; log1p, tanh, sigmoid, softplus, erf 3 ulp; gelu 8 ulp
 * down to x = -9 and 2e-5 relative in the far negative tail. Polynomials: Cephes (exp, log, tanh),
 * Numerical Recipes' Chebyshev fit of erfc (fractional error below 1.2e-7) and the
 * Maclaurin series of erf near zero.
 */
import type { Code, Locals } from "./encoder.js";
import { ValType } from "./encoder.js";
import type { SimdOpcode } from "./encoder.js";

type SimdName = keyof typeof SimdOpcode;

/** A v128 local. */
export type V = number;

/** Emits f32x4 arithmetic over locals, one new local per result. */
export class VectorBuilder {
  constructor(
    readonly c: Code,
    readonly locals: Locals,
  ) {}

  /** Stores the v128 on top of the stack into a new local. */
  private into(): V {
    const t = this.locals.add(ValType.v128);
    this.c.set(t);
    return t;
  }
  const(x: number): V {
    this.c.f32x4(x);
    return this.into();
  }
  constI32(x: number): V {
    this.c.i32x4(x);
    return this.into();
  }
  op1(name: SimdName, a: V): V {
    this.c.get(a).simd(name);
    return this.into();
  }
  op2(name: SimdName, a: V, b: V): V {
    this.c.get(a).get(b).simd(name);
    return this.into();
  }
  /** mask ? a : b, lane by lane (mask lanes all ones or all zeros). */
  select(mask: V, a: V, b: V): V {
    this.c.get(a).get(b).get(mask).simd("v128Bitselect");
    return this.into();
  }
  add = (a: V, b: V): V => this.op2("f32x4Add", a, b);
  sub = (a: V, b: V): V => this.op2("f32x4Sub", a, b);
  mul = (a: V, b: V): V => this.op2("f32x4Mul", a, b);
  div = (a: V, b: V): V => this.op2("f32x4Div", a, b);
  addK = (a: V, k: number): V => this.add(a, this.const(k));
  mulK = (a: V, k: number): V => this.mul(a, this.const(k));
  /** Horner: ((c0·x + c1)·x + c2)... */
  poly(x: V, coefficients: readonly number[]): V {
    let acc = this.const(coefficients[0]!);
    for (const k of coefficients.slice(1)) acc = this.addK(this.mul(acc, x), k);
    return acc;
  }
  /** Lanes that are NaN. */
  isNaN = (x: V): V => this.op2("f32x4Ne", x, x);
}

const EXP_COEFFICIENTS = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;

/** 1.5·2^23: adding it rounds an f32 of magnitude below 2^22 to an integer (ties to even), which its low mantissa bits then hold. */
const ROUND_MAGIC = 12582912;
const ROUND_MAGIC_BITS = 0x4b400000;

/** e^x. Arguments are clamped to [-104, 89] first (beyond them the result is 0 or infinity either way). */
export const vexp = (v: VectorBuilder, x: V): V => vexpSum(v, x);

/**
 * e^(a + b) for an exactly known a (such as minus the high part of a split square) and a
 * moderate b (none: e^a): one exponential instead of e^a · e^b. The reduction subtracts
 * n·ln 2 from a before b is added, so a's size costs no accuracy; a + b is clamped to
 * [-104, 89] (beyond, the result is 0 or infinity either way).
 */
const vexpSum = (v: VectorBuilder, a: V, b?: V): V => {
  // pmax/pmin are one instruction each (min/max are several) and keep a NaN x: pmax(x, lo) = x < lo ? lo : x.
  const clamped = v.op2("f32x4Pmin", v.op2("f32x4Pmax", b === undefined ? a : v.add(a, b), v.const(-104)), v.const(89));
  // n = nearest(x·log2 e) as a float and, from the bits of the rounded sum, as an integer.
  const t = v.addK(v.mulK(clamped, Math.LOG2E), ROUND_MAGIC);
  const n = v.addK(t, -ROUND_MAGIC);
  const high = v.sub(b === undefined ? clamped : a, v.mulK(n, LN2_HI));
  const r = v.sub(b === undefined ? high : v.add(high, b), v.mulK(n, LN2_LO));
  const p = v.poly(r, EXP_COEFFICIENTS);
  const y = v.addK(v.add(v.mul(v.mul(p, r), r), r), 1);
  // 2^n as two factors, so n from -150 to 129 stays inside the normal exponent range.
  return scaleByPowerOfTwo(v, y, v.op2("i32x4Sub", t, v.constI32(ROUND_MAGIC_BITS)));
};

/** y · 2^n for i32 lanes n in [-150, 130]. */
const scaleByPowerOfTwo = (v: VectorBuilder, y: V, n: V): V => {
  const c = v.c;
  const n1 = v.locals.add(ValType.v128);
  c.get(n).i32(1).simd("i32x4ShrS").set(n1);
  const n2 = v.op2("i32x4Sub", n, n1);
  const bias = v.constI32(127);
  const s1 = v.locals.add(ValType.v128);
  c.get(n1).get(bias).simd("i32x4Add").i32(23).simd("i32x4Shl").set(s1);
  const s2 = v.locals.add(ValType.v128);
  c.get(n2).get(bias).simd("i32x4Add").i32(23).simd("i32x4Shl").set(s2);
  return v.mul(v.mul(y, s1), s2);
};

const LOG_COEFFICIENTS = [
  7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
  3.3333331174e-1,
];
const MIN_NORMAL = 1.17549435e-38;

/** Natural log: -infinity at ±0, NaN below 0, denormals scaled into the normal range first. */
export const vlog = (v: VectorBuilder, x: V): V => {
  const c = v.c;
  const denormal = v.op2("f32x4Lt", v.op1("f32x4Abs", x), v.const(MIN_NORMAL));
  const scaled = v.select(denormal, v.mulK(x, 2 ** 23), x);
  // Exponent and mantissa in [0.5, 1).
  const e = v.locals.add(ValType.v128);
  c.get(scaled).i32(23).simd("i32x4ShrU").i32x4(0xff).simd("v128And").i32x4(126).simd("i32x4Sub").set(e);
  const m = v.locals.add(ValType.v128);
  c.get(scaled).i32x4(0x807fffff).simd("v128And").i32x4(0x3f000000).simd("v128Or").set(m);
  const small = v.op2("f32x4Lt", m, v.const(Math.SQRT1_2));
  // e -= 23 for denormals, e -= 1 where the mantissa is doubled (masks are -1 in those lanes).
  const eAdjusted = v.op2("i32x4Add", v.op2("i32x4Sub", e, v.op2("v128And", denormal, v.constI32(23))), small);
  const xm = v.addK(v.select(small, v.add(m, m), m), -1);
  const z = v.mul(xm, xm);
  const ef = v.op1("f32x4ConvertI32x4S", eAdjusted);
  let y = v.mul(v.mul(xm, z), v.poly(xm, LOG_COEFFICIENTS));
  y = v.add(y, v.mulK(ef, LN2_LO));
  y = v.sub(y, v.mulK(z, 0.5));
  let result = v.add(v.add(xm, y), v.mulK(ef, LN2_HI));
  result = v.select(v.op2("f32x4Eq", x, v.const(0)), v.const(-Infinity), result);
  result = v.select(v.op2("f32x4Lt", x, v.const(0)), v.const(Number.NaN), result);
  const passThrough = v.op2("v128Or", v.isNaN(x), v.op2("f32x4Eq", x, v.const(Infinity)));
  return v.select(passThrough, x, result);
};

/** log(1 + y) for y ≥ -1, accurate for tiny y: log(u)·y/(u - 1) with u = 1 + y (y itself where u rounds to 1). */
export const vlog1p = (v: VectorBuilder, y: V): V => {
  const u = v.addK(y, 1);
  const um1 = v.addK(u, -1);
  const logU = vlog(v, u);
  const corrected = v.mul(logU, v.div(y, um1));
  // u = +inf: log(u) itself (the correction would give inf/inf).
  return v.select(v.op2("f32x4Eq", um1, v.const(0)), y, v.select(v.op2("f32x4Eq", u, v.const(Infinity)), logU, corrected));
};

const SIGN_BIT = -0x80000000;
const TANH_COEFFICIENTS = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

/** tanh: an odd polynomial below |x| = 0.625, else 1 - 2/(e^2|x| + 1) with the sign of x. */
export const vtanh = (v: VectorBuilder, x: V): V => {
  const z = v.mul(x, x);
  const small = v.add(v.mul(v.mul(v.poly(z, TANH_COEFFICIENTS), z), x), x);
  const ax = v.op1("f32x4Abs", x);
  const large = v.sub(v.const(1), v.div(v.const(2), v.addK(vexp(v, v.add(ax, ax)), 1)));
  const signed = v.select(v.constI32(SIGN_BIT), x, large);
  // x + x·w rounds -0 to +0: zeros pass through.
  const chosen = v.select(v.op2("f32x4Lt", ax, v.const(0.625)), small, signed);
  return v.select(v.op2("f32x4Eq", x, v.const(0)), x, chosen);
};

/** 1 / (1 + e^-x), as e^x / (1 + e^x) for x < 0 so neither side overflows. */
export const vsigmoid = (v: VectorBuilder, x: V): V => {
  const e = vexp(v, v.op1("f32x4Neg", v.op1("f32x4Abs", x)));
  const positive = v.div(v.const(1), v.addK(e, 1));
  return v.select(v.op2("f32x4Ge", x, v.const(0)), positive, v.mul(e, positive));
};

/** log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
export const vsoftplus = (v: VectorBuilder, x: V): V => {
  const tail = vlog1p(v, vexp(v, v.op1("f32x4Neg", v.op1("f32x4Abs", x))));
  return v.add(v.op2("f32x4Max", x, v.const(0)), tail);
};

/** 2/√π · (z - z³/3 + z⁵/10 - ...), the Maclaurin series of erf through z¹⁷ (for |z| < 0.75). */
const ERF_SERIES = [1 / 685440, -1 / 75600, 1 / 9360, -1 / 1320, 1 / 216, -1 / 42, 1 / 10, -1 / 3, 1].map((k) => (k * 2) / Math.sqrt(Math.PI));
const SERIES_BELOW = 0.75;
/** Numerical Recipes' erfc fit: erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0. */
const ERFC_COEFFICIENTS = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223];

/**
 * z² as hi + rest with hi exact: hi = s·h², rest = s·(w - h)(w + h), where z² = s·w² and h
 * is w truncated to 12 significant bits (so h² fits a float exactly). In the tail e^{-z²}
 * needs the exponent to about 1e-7 absolute, which a rounded z² (up to 100) cannot give.
 */
const splitSquare = (v: VectorBuilder, w: V, s: number): { hi: V; rest: V } => {
  const h = v.op2("v128And", w, v.constI32(-0x1000));
  return { hi: v.mulK(v.mul(h, h), s), rest: v.mulK(v.mul(v.sub(w, h), v.add(w, h)), s) };
};

/** Beyond this erfc is below the smallest f32 denormal. */
const ERFC_ZERO_FROM = 10.1;

/** erfc(z) for z ≥ 0 (NaN for NaN), given z² split by `splitSquare`. */
const erfcNonNegative = (v: VectorBuilder, z: V, square: { hi: V; rest: V }): V => {
  const t = v.div(v.const(1), v.addK(v.mulK(z, 0.5), 1));
  const p = v.poly(t, ERFC_COEFFICIENTS);
  const value = v.mul(t, vexpSum(v, v.op1("f32x4Neg", square.hi), v.sub(p, square.rest)));
  // Far out (infinity included, where the split square is inf - inf) the value is 0.
  return v.select(v.op2("f32x4Gt", z, v.const(ERFC_ZERO_FROM)), v.const(0), value);
};

const erfSeries = (v: VectorBuilder, z: V): V => v.mul(z, v.poly(v.mul(z, z), ERF_SERIES));

/** erf: the series below |x| = 0.75, else ±(1 - erfc(|x|)). */
export const verf = (v: VectorBuilder, x: V): V => {
  const ax = v.op1("f32x4Abs", x);
  const far = v.sub(v.const(1), erfcNonNegative(v, ax, splitSquare(v, ax, 1)));
  const signedFar = v.select(v.constI32(SIGN_BIT), x, far);
  return v.select(v.op2("f32x4Lt", ax, v.const(SERIES_BELOW)), erfSeries(v, x), signedFar);
};

/** erfc(x) where x = `scale`·u (the square split from u, so a rounded scaling costs no accuracy). */
const erfcScaled = (v: VectorBuilder, u: V, scale: number): V => {
  const x = v.mulK(u, scale);
  const ax = v.op1("f32x4Abs", x);
  const tail = erfcNonNegative(v, ax, splitSquare(v, v.op1("f32x4Abs", u), scale * scale));
  const far = v.select(v.op2("f32x4Lt", x, v.const(0)), v.sub(v.const(2), tail), tail);
  return v.select(v.op2("f32x4Lt", ax, v.const(SERIES_BELOW)), v.sub(v.const(1), erfSeries(v, x)), far);
};

/** erfc for any x: 1 - series near 0, erfc(|x|) for x ≥ 0.75, 2 - erfc(|x|) for x ≤ -0.75. */
export const verfc = (v: VectorBuilder, x: V): V => erfcScaled(v, x, 1);

/** x·Φ(x) = 0.5·x·erfc(-x/√2), keeping relative accuracy in the negative tail. */
export const vgelu = (v: VectorBuilder, x: V): V => v.mul(v.mulK(x, 0.5), erfcScaled(v, x, -Math.SQRT1_2));
