/**
 * Seeded randomness: xoshiro128** with a plain, serializable state.
 *
 * Takes a seed (a safe integer or a bigint); guarantees that the same seed gives the
 * bit-identical sequence of integers, floats, normals and permutations on every run,
 * platform and JavaScript engine. Everything is computed with 32-bit integer ops and
 * IEEE-754 `+ - * /` and `Math.sqrt` (correctly rounded everywhere); the logarithm used by
 * the normal sampler is our own port of fdlibm's, not `Math.log`, whose last bit is
 * implementation-defined.
 *
 * The API is pure: a state is an immutable value and every draw returns the value and the
 * next state, so a checkpoint can store the state and resume bit-identically. For bulk
 * draws, `withRng` hands a callback a mutable stream over a private copy of the state and
 * returns the callback's result with the final state: pure from the outside, no allocation
 * per draw inside.
 */
import * as E from "fp-ts/lib/Either.js";
import { ValidationError } from "./errors.js";

/** The generator state: four 32-bit unsigned words, never all zero. */
export interface RngState {
  readonly s0: number;
  readonly s1: number;
  readonly s2: number;
  readonly s3: number;
}

/** A mutable view of a state, valid only inside the `withRng` callback that received it. */
export interface RngStream {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 53 random bits (two words). */
  nextFloat(): number;
  /** Uniform float in [low, high). */
  nextUniform(low: number, high: number): number;
  /** Uniform integer in [low, high); `high - low` must be in [1, 2^32]. Unbiased. */
  nextInt(low: number, high: number): number;
  /** Normal sample (Marsaglia polar method; one value per accepted pair). */
  nextNormal(mean?: number, std?: number): number;
}

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;
const TWO_26 = 67108864;

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

class Xoshiro128 implements RngStream {
  constructor(
    private a: number,
    private b: number,
    private c: number,
    private d: number,
  ) {}

  static of(state: RngState): Xoshiro128 {
    return new Xoshiro128(state.s0 | 0, state.s1 | 0, state.s2 | 0, state.s3 | 0);
  }

  state(): RngState {
    return { s0: this.a >>> 0, s1: this.b >>> 0, s2: this.c >>> 0, s3: this.d >>> 0 };
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * TWO_26 + low) / TWO_53;
  }

  nextUniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  nextInt(low: number, high: number): number {
    const n = high - low;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || n < 1 || n > TWO_32) {
      throw new RangeError(`nextInt: need integers with 1 <= high - low <= 2^32, got [${low}, ${high})`);
    }
    // Reject the top sliver of [0, 2^32) that would make `x % n` biased.
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return low + (x % n);
    }
  }

  nextNormal(mean = 0, std = 1): number {
    for (;;) {
      const u = 2 * this.nextFloat() - 1;
      const v = 2 * this.nextFloat() - 1;
      const s = u * u + v * v;
      if (s < 1 && s > 0) return mean + std * u * Math.sqrt((-2 * portableLog(s)) / s);
    }
  }

  jump(): void {
    const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b];
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (const word of JUMP) {
      for (let bit = 0; bit < 32; bit++) {
        if ((word & (1 << bit)) !== 0) {
          a ^= this.a;
          b ^= this.b;
          c ^= this.c;
          d ^= this.d;
        }
        this.nextUint32();
      }
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

const MASK_64 = (1n << 64n) - 1n;

/** splitmix64, the seeding function the xoshiro authors recommend. */
const splitmix64 = (x: bigint): [bigint, bigint] => {
  const next = (x + 0x9e3779b97f4a7c15n) & MASK_64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
  return [z ^ (z >> 31n), next];
};

/**
 * The initial state for a seed. Seeds are safe integers (negative ones allowed) or bigints;
 * distinct seeds in [-2^63, 2^64) give distinct, well-mixed states.
 *
 * @example
 * const rng = rngFromSeed(42);
 * const [x, rng2] = nextFloat(rng); // x in [0, 1); rng is unchanged
 */
export const rngFromSeed = (seed: number | bigint): RngState => {
  if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
    throw new RangeError(`rngFromSeed: the seed must be a safe integer or a bigint, got ${seed}`);
  }
  let x = BigInt(seed) & MASK_64;
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [z, next] = splitmix64(x);
    x = next;
    words.push(Number(z & 0xffffffffn), Number(z >> 32n));
  }
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = words;
  // splitmix64 is a bijection, so an all-zero state needs two zero outputs in a row; guard anyway.
  return s0 === 0 && s1 === 0 && s2 === 0 && s3 === 0 ? { s0: 1, s1: 0, s2: 0, s3: 0 } : { s0, s1, s2, s3 };
};

/**
 * Runs `draw` with a mutable stream over a copy of `state`; returns its result and the
 * state after the last draw. The stream must not escape the callback.
 *
 * @example
 * const [pair, next] = withRng(rngFromSeed(1), (r) => [r.nextNormal(), r.nextInt(0, 6)]);
 */
export const withRng = <T>(state: RngState, draw: (stream: RngStream) => T): [T, RngState] => {
  const generator = Xoshiro128.of(state);
  const result = draw(generator);
  return [result, generator.state()];
};

/**
 * A uniform 32-bit unsigned integer and the next state.
 *
 * @example
 * const [word, next] = nextUint32(rngFromSeed(1)); // word in [0, 2^32)
 */
export const nextUint32 = (state: RngState): [number, RngState] => withRng(state, (r) => r.nextUint32());

/**
 * A uniform float in [0, 1) (53 random bits) and the next state.
 *
 * @example
 * const [u, next] = nextFloat(rngFromSeed(1)); // u in [0, 1)
 */
export const nextFloat = (state: RngState): [number, RngState] => withRng(state, (r) => r.nextFloat());

/**
 * A uniform float in [low, high) and the next state.
 *
 * @example
 * const [angle] = nextUniform(rngFromSeed(1), -Math.PI, Math.PI);
 */
export const nextUniform = (state: RngState, low: number, high: number): [number, RngState] =>
  withRng(state, (r) => r.nextUniform(low, high));

/**
 * A uniform integer in [low, high) and the next state (unbiased; `high - low` in [1, 2^32]).
 *
 * @example
 * const [die] = nextInt(rngFromSeed(7), 1, 7); // 1..6
 */
export const nextInt = (state: RngState, low: number, high: number): [number, RngState] =>
  withRng(state, (r) => r.nextInt(low, high));

/**
 * A normal sample (default standard normal) and the next state.
 *
 * @example
 * const [z, next] = nextNormal(rngFromSeed(1), 0, 0.01);
 */
export const nextNormal = (state: RngState, mean = 0, std = 1): [number, RngState] =>
  withRng(state, (r) => r.nextNormal(mean, std));

/**
 * A new array of `out`'s type filled with uniform values in [low, high) (for Float32Array
 * the rounding to float32 may give `high` itself), and the next state.
 *
 * @example
 * const [weights, next] = fillUniform(rngFromSeed(1), new Float32Array(6), -0.1, 0.1);
 */
export const fillUniform = <A extends Float32Array | Float64Array>(state: RngState, out: A, low: number, high: number): [A, RngState] =>
  withRng(state, (r) => {
    const copy = out.slice() as A;
    for (let i = 0; i < copy.length; i++) copy[i] = r.nextUniform(low, high);
    return copy;
  });

/**
 * A new array of `out`'s type filled with normal samples, and the next state.
 *
 * @example
 * const [noise, next] = fillNormal(rngFromSeed(1), new Float64Array(100), 0, 1);
 */
export const fillNormal = <A extends Float32Array | Float64Array>(state: RngState, out: A, mean = 0, std = 1): [A, RngState] =>
  withRng(state, (r) => {
    const copy = out.slice() as A;
    for (let i = 0; i < copy.length; i++) copy[i] = r.nextNormal(mean, std);
    return copy;
  });

/**
 * A uniformly random permutation of 0..n-1 (Fisher-Yates) and the next state.
 *
 * @example
 * const [order, next] = permutation(rngFromSeed(3), 5); // e.g. Int32Array [3, 0, 4, 1, 2]
 */
export const permutation = (state: RngState, n: number): [Int32Array, RngState] => {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`permutation: n must be an integer in [0, 2^31), got ${n}`);
  return withRng(state, (r) => {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = r.nextInt(0, i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return order;
  });
};

/**
 * A shuffled copy of `items` (same draws as `permutation`) and the next state.
 *
 * @example
 * const [deck] = shuffle(rngFromSeed(2), ["a", "b", "c"]); // e.g. ["c", "a", "b"]
 */
export const shuffle = <T>(state: RngState, items: readonly T[]): [T[], RngState] => {
  const [order, next] = permutation(state, items.length);
  return [Array.from(order, (i) => items[i]!), next];
};

/**
 * The state 2^64 draws ahead: calling it repeatedly gives non-overlapping streams for
 * independent consumers (say, data shuffling and dropout) from one seed.
 *
 * @example
 * const dataRng = rngFromSeed(5);
 * const dropoutRng = jumpRng(dataRng); // never overlaps dataRng's next 2^64 draws
 */
export const jumpRng = (state: RngState): RngState => {
  const generator = Xoshiro128.of(state);
  generator.jump();
  return generator.state();
};

const FORMAT_PREFIX = "xoshiro128**:";

/**
 * The state as a short string, e.g. `"xoshiro128**:1b2f...:..."`, for checkpoint metadata.
 *
 * @example
 * const text = rngStateToString(rngFromSeed(1));
 * const back = rngStateFromString(text); // Right(same state)
 */
export const rngStateToString = (state: RngState): string =>
  FORMAT_PREFIX + [state.s0, state.s1, state.s2, state.s3].map((w) => (w >>> 0).toString(16).padStart(8, "0")).join(":");

/**
 * Parses `rngStateToString`'s output; rejects other algorithms, bad words and the all-zero state.
 *
 * @example
 * const state = rngStateFromString(checkpoint.metadata["rng"] ?? ""); // Either<ValidationError, RngState>
 */
export const rngStateFromString = (text: string, path = "rng"): E.Either<ValidationError, RngState> => {
  if (!text.startsWith(FORMAT_PREFIX)) {
    return E.left(new ValidationError(`expected an RNG state starting with "${FORMAT_PREFIX}", got ${JSON.stringify(text.slice(0, 40))}`, path));
  }
  const words = text.slice(FORMAT_PREFIX.length).split(":");
  if (words.length !== 4 || !words.every((w) => /^[0-9a-f]{8}$/.test(w))) {
    return E.left(new ValidationError(`expected four 8-digit lowercase hex words, got ${JSON.stringify(text.slice(0, 60))}`, path));
  }
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = words.map((w) => Number.parseInt(w, 16));
  if ((s0 | s1 | s2 | s3) === 0) return E.left(new ValidationError("the all-zero state is invalid for xoshiro128**", path));
  return E.right({ s0, s1, s2, s3 });
};

// ---- portable natural logarithm (fdlibm e_log.c, Sun Microsystems, freely redistributable) ----

const scratch = new DataView(new ArrayBuffer(8));
const highWord = (x: number): number => {
  scratch.setFloat64(0, x);
  return scratch.getInt32(0);
};
const withHighWord = (x: number, high: number): number => {
  scratch.setFloat64(0, x);
  scratch.setInt32(0, high);
  return scratch.getFloat64(0);
};
const lowWord = (x: number): number => {
  scratch.setFloat64(0, x);
  return scratch.getUint32(4);
};

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const TWO_54 = 1.8014398509481984e16;
const LG = [6.666666666666735130e-1, 3.999999999940941908e-1, 2.857142874366239149e-1, 2.222219843214978396e-1, 1.818357216161805012e-1, 1.531383769920937332e-1, 1.479819860511658591e-1] as const;

/**
 * Natural logarithm computed only with IEEE-754 basic operations, so it gives the same bits
 * on every engine (fdlibm's algorithm, error < 1 ulp).
 */
export const portableLog = (input: number): number => {
  let x = input;
  let hx = highWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lowWord(x)) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54; // subnormal: scale up
    x *= TWO_54;
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = withHighWord(x, hx | (i ^ 0x3ff00000)); // normalize x or x/2
  k += i >> 20;
  const f = x - 1.0;
  const dk = k;
  if ((0x000fffff & (2 + hx)) < 3) {
    if (f === 0) return k === 0 ? 0 : dk * LN2_HI + dk * LN2_LO;
    const r = f * f * (0.5 - 0.33333333333333333 * f);
    return k === 0 ? f - r : dk * LN2_HI - (r - dk * LN2_LO - f);
  }
  const [lg1, lg2, lg3, lg4, lg5, lg6, lg7] = LG;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (lg2 + w * (lg4 + w * lg6));
  const t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
  const r = t2 + t1;
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + r)) : dk * LN2_HI - (hfsq - (s * (hfsq + r) + dk * LN2_LO) - f);
  }
  return k === 0 ? f - s * (f - r) : dk * LN2_HI - (s * (f - r) - dk * LN2_LO - f);
};
