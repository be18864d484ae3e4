/**
 * Scalar math used by the elementwise kernels: erf/erfc (W. J. Cody's rational
 * Chebyshev approximations), exact GELU, and overflow-free sigmoid and softplus.
 *
 * Takes and returns IEEE doubles; f32 kernels round the double result once on store.
 * Guarantees: erf and erfc within a few ulps in f64 over the whole real line (erfc keeps
 * relative accuracy in the far tail, down to underflow at x ≈ 26.5); sigmoid, softplus
 * and gelu finite and accurate for any finite input.
 */

// Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 1969,
// coefficients as in the SPECFUN routine CALERF (netlib). Exported so the ONNX export
// (compiler/onnx/erf.ts) evaluates the very same approximation.
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const P = [0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978];
const Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];
const ONE_OVER_SQRT_PI = 0.56418958354775628695;
const ERF_SMALL = 0.46875;
const ERFC_UNDERFLOW = 26.543;

/** Cody's coefficients and thresholds, shared with the ONNX export's composition of erf. */
export const CODY_ERF = { A, B, C, D, P, Q, ONE_OVER_SQRT_PI, ERF_SMALL, ERFC_UNDERFLOW } as const;

/** erf(x) for |x| <= 0.46875. */
const erfSmall = (x: number): number => {
  const y = Math.abs(x);
  const ysq = y > 1.11e-16 ? y * y : 0;
  let num = A[4]! * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * ysq;
    den = (den + B[i]!) * ysq;
  }
  return (x * (num + A[3]!)) / (den + B[3]!);
};

/** erfc(y) for y > 0.46875. exp(-y²) is split as exp(-r²)·exp(-(y-r)(y+r)) to keep its relative accuracy. */
const erfcPositive = (y: number): number => {
  if (y >= ERFC_UNDERFLOW) return 0;
  let r: number;
  if (y <= 4) {
    let num = C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    r = (num + C[7]!) / (den + D[7]!);
  } else {
    const ysq = 1 / (y * y);
    let num = P[5]! * ysq;
    let den = ysq;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]!) * ysq;
      den = (den + Q[i]!) * ysq;
    }
    r = (ysq * (num + P[4]!)) / (den + Q[4]!);
    r = (ONE_OVER_SQRT_PI - r) / y;
  }
  const head = Math.trunc(y * 16) / 16;
  const tail = (y - head) * (y + head);
  return Math.exp(-head * head) * Math.exp(-tail) * r;
};

/**
 * The Gauss error function, accurate to a few ulps in f64.
 * @example erf(1) // 0.8427007929497149
 */
export const erf = (x: number): number => {
  if (x !== x) return x;
  const y = Math.abs(x);
  if (y <= ERF_SMALL) return erfSmall(x);
  const e = 0.5 - erfcPositive(y) + 0.5;
  return x < 0 ? -e : e;
};

/**
 * The complementary error function 1 - erf(x), with full relative accuracy for large x.
 * @example erfc(5) // 1.5374597944280349e-12
 */
export const erfc = (x: number): number => {
  if (x !== x) return x;
  const y = Math.abs(x);
  if (y <= ERF_SMALL) return 1 - erfSmall(x);
  const c = erfcPositive(y);
  return x < 0 ? 2 - c : c;
};

const SQRT1_2 = Math.SQRT1_2;

/**
 * Exact GELU, x·Φ(x), written as 0.5·x·erfc(-x/√2) so the far negative tail keeps its
 * relative accuracy instead of cancelling in 1 + erf.
 * @example gelu(1) // 0.8413447460685429
 */
export const gelu = (x: number): number => 0.5 * x * erfc(-x * SQRT1_2);

/**
 * 1 / (1 + e^-x) without overflow: for x < 0 it is computed as e^x / (1 + e^x).
 * @example sigmoid(-1000) // 0
 */
export const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/**
 * log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
 * @example softplus(1000) // 1000
 */
export const softplus = (x: number): number => (x > 0 ? x : 0) + Math.log1p(Math.exp(-Math.abs(x)));

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** Float to i32: truncates toward zero, saturates at the i32 range, NaN becomes 0. */
export const floatToI32 = (x: number): number => (x !== x ? 0 : x <= I32_MIN ? I32_MIN : x >= I32_MAX ? I32_MAX : Math.trunc(x));

export { I32_MIN, I32_MAX };
