/**
 * The counter-based random kernel: `randomUniform(key)` fills its output with uniform
 * values in [0, 1) that depend only on (key, stream, element index).
 *
 * Takes a rank-0 i32 key and the op's params (shape, dtype, stream). Guarantees: the
 * same key and stream give the same values on every run, executor and machine (exact
 * integer arithmetic in doubles, so the ONNX mapping reproduces it bit for bit); values
 * are multiples of 2^-24 in [0, 1), exactly representable in f32; element n of a larger
 * tensor does not depend on the tensor's size. There is no state: resuming a run means
 * feeding the same key again.
 *
 * The generator: arithmetic modulo the prime P = 2^26 - 5 (so products of two residues
 * are exact in a double). P ≡ 2 (mod 3), so cubing is a permutation of the residues and
 * each round `x -> (x³ + k) mod P` is a bijection. The key and stream are mixed into two
 * round keys (a, b); element n is `x = n + a`, then three rounds with keys b, a and a
 * constant, and the value is `(x mod 2^24) / 2^24`. (`x³ + k` stays below 2^53, so each
 * step is exact.)
 */
import type { DType, RuntimeShape } from "../../src/ops.js";
import type { TensorValue } from "../value.js";
import { arg } from "./kernel.js";

/** The modulus: a prime below 2^26.5 with P ≡ 2 (mod 3). */
export const RANDOM_MODULUS = 67108859;
/** Round constants (arbitrary residues). */
export const RANDOM_ROUND_CONSTANTS = [40503, 2654435, 16777619, 31337] as const;
/** Values are (x mod 2^24) · 2^-24. */
export const RANDOM_RESOLUTION = 16777216;
/** Largest element count a random tensor may have (element indices stay residues). */
export const RANDOM_MAX_ELEMENTS = RANDOM_MODULUS;

const P = RANDOM_MODULUS;
const [C0, C1, C2, C3] = RANDOM_ROUND_CONSTANTS;

const INV_P = 1 / P;

/**
 * v mod P for an integer 0 <= v < 2^53: the quotient from the reciprocal is off by at
 * most one, and one correction makes the remainder exact (faster than `%` on doubles).
 */
const modP = (v: number): number => {
  const r = v - Math.floor(v * INV_P) * P;
  return r < 0 ? r + P : r >= P ? r - P : r;
};

/** A residue of any integer (negative keys included). */
export const residue = (v: number): number => ((v % P) + P) % P;

/** One round: (x³ + k) mod P for residues x, k; every product is exact. */
export const randomRound = (x: number, k: number): number => modP(modP(x * x) * x + k);

/**
 * The two round keys of (key, stream): key and stream each go through a round of their
 * own before they are combined, so no simple change of one undoes a change of the other.
 */
export const roundKeys = (key: number, stream: number): [number, number] => {
  const k = randomRound(modP(residue(key) + C2), C0);
  const s = randomRound(modP(residue(stream) + C3), C1);
  const a = randomRound(modP(k + s), C2);
  return [a, randomRound(a, C3)];
};

/**
 * The value of element `n` for round keys (a, b).
 * @example const [a, b] = roundKeys(7, 0); randomAt(0, a, b) // in [0, 1)
 */
export const randomAt = (n: number, a: number, b: number): number => {
  let x = modP(n + a);
  x = randomRound(x, b);
  x = randomRound(x, a);
  x = randomRound(x, C3);
  return (x % RANDOM_RESOLUTION) / RANDOM_RESOLUTION;
};

/** Params of the random op, as the kernel reads them. */
export interface RandomUniformParams {
  readonly shape: RuntimeShape;
  readonly dtype: DType;
  readonly stream: number;
}

/** randomUniform(key: i32 []) -> uniform [0, 1) of the params' shape and dtype. */
export const randomUniformKernel = (inputs: readonly TensorValue[], p: RandomUniformParams, out: TensorValue): void => {
  const key = arg(inputs, 0).data[0]!;
  const o = out.data;
  const n = o.length;
  if (n > RANDOM_MAX_ELEMENTS) throw new RangeError(`randomUniform: ${n} elements, at most ${RANDOM_MAX_ELEMENTS} are supported`);
  const [a, b] = roundKeys(key, p.stream);
  for (let i = 0; i < n; i++) o[i] = randomAt(i, a, b);
};
