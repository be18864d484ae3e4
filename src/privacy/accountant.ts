/**
 * Privacy accounting for DP-SGD: the Rényi differential privacy (RDP) of the sampled
 * Gaussian mechanism, composed over training steps and converted to (ε, δ)-DP.
 *
 * One DP-SGD step samples each example with probability q (Poisson sampling), clips each
 * example's gradient to norm C and adds N(0, σ²C²) noise to their sum: a sampled Gaussian
 * mechanism with noise multiplier σ. Its RDP at order α is log(A_α)/(α - 1), with A_α from
 * Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism": a finite binomial sum for integer α (Sec. 3.3) and a series of two
 * erfc-weighted sums for fractional α (Sec. 3.4), evaluated in log space as TensorFlow
 * Privacy and Opacus do. RDP adds up over steps. The conversion to (ε, δ) takes the best
 * order of a list:
 * - "standard": ε = rdp(α) + log(1/δ)/(α - 1) (Mironov 2017, Prop. 3), as in TF Privacy's
 *   original accountant and the published DP-SGD tutorials;
 * - "improved" (default): ε = rdp(α) + log((α - 1)/α) - (log δ + log α)/(α - 1)
 *   (Balle et al. 2020, "Hypothesis testing interpretations and Rényi differential
 *   privacy", Thm. 21; Canonne, Kamath & Steinke 2020, Prop. 12), as in dp_accounting;
 *   always at most the standard bound.
 * Pure functions of numbers; invalid settings throw a ValidationError naming the field.
 */
import { ValidationError } from "../errors.js";
import { erfc } from "../../runtime/kernels/scalar.js";

/**
 * Orders α used by default: 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63 (the defaults of Opacus and TF Privacy's tutorials).
 * @example sampledGaussianRdp({ samplingRate: 0.01, noiseMultiplier: 1, steps: 100 }, DEFAULT_RDP_ORDERS)
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
]);

/** RDP at each order of `orders` (parallel arrays); `Infinity` where unbounded. */
export interface RdpCurve {
  readonly orders: readonly number[];
  readonly rdp: readonly number[];
}

/** How RDP is converted to (ε, δ): see the module comment. */
export type DpConversion = "standard" | "improved";

/** An (ε, δ) guarantee and the RDP order that gives it. */
export interface PrivacySpent {
  readonly epsilon: number;
  readonly delta: number;
  readonly order: number;
  readonly conversion: DpConversion;
}

const logAdd = (a: number, b: number): number => {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  return lo === -Infinity ? hi : Math.log1p(Math.exp(lo - hi)) + hi;
};

/** log(e^a - e^b) for a >= b. */
const logSub = (a: number, b: number): number => {
  if (b === -Infinity) return a;
  if (a < b) throw new RangeError(`RDP series: a negative partial sum (log ${a} - log ${b}); the parameters are outside the accountant's numeric range`);
  if (a === b) return -Infinity;
  const d = a - b;
  return d > 700 ? a : Math.log(Math.expm1(d)) + b;
};

/** log(erfc(x)), accurate far into the tail where erfc underflows (asymptotic series beyond x = 20). @example logErfc(40) // -1604.26155665327 */
export const logErfc = (x: number): number => {
  if (x <= 20) return Math.log(erfc(x));
  const inv2 = 1 / (x * x);
  // erfc(x) = e^{-x²}/(x√π) · (1 - 1/(2x²) + 3/(4x⁴) - 15/(8x⁶) + 105/(16x⁸) - ...)
  const series = 1 + inv2 * (-0.5 + inv2 * (0.75 + inv2 * (-1.875 + inv2 * 6.5625)));
  return -x * x - Math.log(x) - 0.5 * Math.log(Math.PI) + Math.log(series);
};

/** log |binom(α, i)| and its sign for real α, i = 0, 1, 2, ... (as a stream). */
const binomialTerms = (alpha: number): (() => { logAbs: number; sign: number }) => {
  let i = 0;
  let logAbs = 0;
  let sign = 1;
  return () => {
    if (i > 0) {
      const factor = alpha - i + 1;
      if (factor === 0) return { logAbs: -Infinity, sign: 0 };
      logAbs += Math.log(Math.abs(factor)) - Math.log(i);
      if (factor < 0) sign = -sign;
    }
    i++;
    return { logAbs, sign };
  };
};

/** log A_α for integer α >= 2: Σ_i binom(α, i) (1-q)^{α-i} q^i exp((i² - i)/(2σ²)). */
const logMomentInteger = (q: number, sigma: number, alpha: number): number => {
  const next = binomialTerms(alpha);
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const { logAbs } = next();
    logA = logAdd(logA, logAbs + i * Math.log(q) + (alpha - i) * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
};

/**
 * log A_α for fractional α: the integral split at z0 = σ²·log(1/q - 1) + 1/2 into two
 * series whose terms carry erfc tails; summed until both terms fall below e^-30.
 */
const logMomentFractional = (q: number, sigma: number, alpha: number): number => {
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const next = binomialTerms(alpha);
  const s2 = Math.SQRT2 * sigma;
  let below = -Infinity;
  let above = -Infinity;
  for (let i = 0; ; i++) {
    const { logAbs, sign } = next();
    const j = alpha - i;
    const t0 = logAbs + i * Math.log(q) + j * Math.log1p(-q);
    const t1 = logAbs + j * Math.log(q) + i * Math.log1p(-q);
    const s0 = t0 + (i * i - i) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((i - z0) / s2);
    const s1 = t1 + (j * j - j) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((z0 - j) / s2);
    if (sign > 0) {
      below = logAdd(below, s0);
      above = logAdd(above, s1);
    } else if (sign < 0) {
      below = logSub(below, s0);
      above = logSub(above, s1);
    }
    if (Math.max(s0, s1) < -30 || i > 100000) break;
  }
  return logAdd(below, above);
};

/**
 * log A_α of the sampled Gaussian mechanism (sampling rate 0 < q < 1, noise multiplier
 * σ > 0, order α > 1): the α-th moment of the privacy loss, whose log over α - 1 is the RDP.
 * @example logSampledGaussianMoment(0.01, 1.1, 2) // ≈ 7.1e-5
 */
export const logSampledGaussianMoment = (q: number, sigma: number, alpha: number): number =>
  Number.isInteger(alpha) ? logMomentInteger(q, sigma, alpha) : logMomentFractional(q, sigma, alpha);

const check = (ok: boolean, path: string, message: string): void => {
  if (!ok) throw new ValidationError(message, path);
};

const checkOrders = (orders: readonly number[]): void => {
  check(orders.length > 0, "orders", "give at least one order");
  orders.forEach((a, i) => check(a > 1, `orders[${i}]`, `RDP orders must be greater than 1, got ${a}`));
};

/** RDP of one step at order α. */
const stepRdp = (q: number, sigma: number, alpha: number): number => {
  if (alpha === Infinity || sigma === 0) return Infinity;
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  return logSampledGaussianMoment(q, sigma, alpha) / (alpha - 1);
};

/** A sampled Gaussian mechanism repeated `steps` times: DP-SGD with sampling rate q and noise multiplier σ. */
export interface SampledGaussian {
  /** Probability that an example is in a step's batch (batch size / dataset size). */
  readonly samplingRate: number;
  /** Noise standard deviation over the clipping norm (σ). */
  readonly noiseMultiplier: number;
  readonly steps: number;
}

/**
 * The RDP of `steps` sampled Gaussian steps at each order.
 * @example const curve = sampledGaussianRdp({ samplingRate: 256 / 60000, noiseMultiplier: 1.1, steps: 14063 });
 */
export const sampledGaussianRdp = (m: SampledGaussian, orders: readonly number[] = DEFAULT_RDP_ORDERS): RdpCurve => {
  check(m.samplingRate >= 0 && m.samplingRate <= 1, "samplingRate", `must be in [0, 1], got ${m.samplingRate}`);
  check(m.noiseMultiplier >= 0 && Number.isFinite(m.noiseMultiplier), "noiseMultiplier", `must be a finite number >= 0, got ${m.noiseMultiplier}`);
  check(Number.isSafeInteger(m.steps) && m.steps >= 0, "steps", `must be a non-negative integer, got ${m.steps}`);
  checkOrders(orders);
  return { orders: [...orders], rdp: orders.map((a) => (m.steps === 0 ? 0 : stepRdp(m.samplingRate, m.noiseMultiplier, a) * m.steps)) };
};

/**
 * Several mechanisms applied one after the other: their RDP adds up order by order.
 * @example composeRdp(sampledGaussianRdp(phase1), sampledGaussianRdp(phase2))
 */
export const composeRdp = (first: RdpCurve, ...rest: readonly RdpCurve[]): RdpCurve => {
  rest.forEach((c, k) =>
    check(c.orders.length === first.orders.length && c.orders.every((a, i) => a === first.orders[i]), `curves[${k + 1}].orders`, "every curve must use the same orders"),
  );
  return { orders: [...first.orders], rdp: first.rdp.map((r, i) => rest.reduce((sum, c) => sum + c.rdp[i]!, r)) };
};

const epsilonAt = (alpha: number, rdp: number, delta: number, conversion: DpConversion): number => {
  if (rdp === Infinity) return Infinity;
  if (conversion === "standard") return rdp - Math.log(delta) / (alpha - 1);
  // δ >= sqrt(1 - e^{-rdp}) bounds the total variation distance: (0, δ)-DP.
  if (delta * delta + Math.expm1(-rdp) > 0) return 0;
  // The improved bound is numerically unstable as α -> 1 (and useless there).
  return alpha > 1.01 ? rdp + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1) : Infinity;
};

/**
 * The smallest ε over the curve's orders such that the mechanism is (ε, δ)-DP.
 * @example epsilonFromRdp(curve, 1e-5).epsilon // e.g. 2.92 with "standard" for the TF Privacy MNIST tutorial
 */
export const epsilonFromRdp = (curve: RdpCurve, delta: number, conversion: DpConversion = "improved"): PrivacySpent => {
  check(delta > 0 && delta < 1, "delta", `must be in (0, 1), got ${delta}`);
  check(curve.orders.length === curve.rdp.length, "rdp", `needs one value per order (${curve.orders.length}), got ${curve.rdp.length}`);
  checkOrders(curve.orders);
  curve.rdp.forEach((r, i) => check(r >= 0, `rdp[${i}]`, `RDP must be >= 0, got ${r}`));
  let best = { epsilon: Infinity, order: curve.orders[0]! };
  curve.orders.forEach((a, i) => {
    const e = epsilonAt(a, curve.rdp[i]!, delta, conversion);
    if (e < best.epsilon) best = { epsilon: e, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), delta, order: best.order, conversion };
};

/** DP-SGD's settings for accounting: dataset size, batch size, noise multiplier and length of training. */
export interface DpSgdSettings {
  readonly datasetSize: number;
  readonly batchSize: number;
  readonly noiseMultiplier: number;
  /** Epochs (may be fractional; steps = ceil(epochs · datasetSize / batchSize)), or give `steps`. */
  readonly epochs?: number;
  readonly steps?: number;
  readonly delta: number;
  readonly orders?: readonly number[];
  readonly conversion?: DpConversion;
}

/**
 * (ε, δ) of DP-SGD training, assuming Poisson sampling with rate batchSize / datasetSize
 * (the usual assumption; shuffled fixed-size batches are accounted the same way in
 * practice, see the docs).
 * @example
 * dpSgdPrivacy({ datasetSize: 60000, batchSize: 256, noiseMultiplier: 1.1, epochs: 60, delta: 1e-5 })
 * // { epsilon: ≈ 2.9, order: ..., steps: 14063, samplingRate: 0.00427 }
 */
export const dpSgdPrivacy = (s: DpSgdSettings): PrivacySpent & { readonly steps: number; readonly samplingRate: number } => {
  check(Number.isSafeInteger(s.datasetSize) && s.datasetSize >= 1, "datasetSize", `must be a positive integer, got ${s.datasetSize}`);
  check(Number.isSafeInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= s.datasetSize, "batchSize", `must be an integer in [1, datasetSize = ${s.datasetSize}], got ${s.batchSize}`);
  check((s.epochs === undefined) !== (s.steps === undefined), "epochs", "give either epochs or steps");
  const samplingRate = s.batchSize / s.datasetSize;
  const steps = s.steps ?? Math.ceil(((s.epochs ?? 0) * s.datasetSize) / s.batchSize);
  const curve = sampledGaussianRdp({ samplingRate, noiseMultiplier: s.noiseMultiplier, steps }, s.orders ?? DEFAULT_RDP_ORDERS);
  return { ...epsilonFromRdp(curve, s.delta, s.conversion ?? "improved"), steps, samplingRate };
};
