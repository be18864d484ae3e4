/**
 * Seeded train/validation/test splits, optionally stratified by class.
 *
 * Takes a dataset, fractions and a seed or RNG state; guarantees the same split for the
 * same seed on every run, disjoint splits that together hold every row exactly once,
 * split sizes round(fraction * rows), and (stratified) per-class counts proportional to
 * the class sizes, rounded by the largest-remainder method so the totals stay exact.
 */
import { permutation, rngFromSeed, shuffle, type RngState } from "../random.js";
import { classIndicesOf, dataFail, selectRows, type Dataset, type FloatArray } from "./dataset.js";

export interface SplitOptions {
  /** Fraction of rows for the test split, in [0, 1). Default 0.2. */
  readonly test?: number;
  /** Fraction of rows for the validation split, in [0, 1). Default 0. */
  readonly validation?: number;
  /** Seed for the shuffle (default 0), unless `rng` is given. */
  readonly seed?: number | bigint;
  /** RNG state to draw from (the next state is returned). */
  readonly rng?: RngState;
  /** Keep each class's proportion in every split (classification datasets only). */
  readonly stratify?: boolean;
}

export interface Splits<A extends FloatArray> {
  readonly train: Dataset<A>;
  readonly validation: Dataset<A>;
  readonly test: Dataset<A>;
  /** Row positions in the input dataset of each split, in the split's (shuffled) order. */
  readonly indices: { readonly train: Int32Array; readonly validation: Int32Array; readonly test: Int32Array };
  /** The RNG state after the split's draws. */
  readonly rng: RngState;
}

/**
 * Splits `total` into integer parts proportional to `weights`, each at most its cap, by the
 * largest-remainder method (ties go to the lower index). The caps must sum to >= total.
 */
export const allocateProportionally = (total: number, weights: readonly number[], caps: readonly number[]): number[] => {
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (weightSum === 0 ? 0 : (total * w) / weightSum));
  const parts = exact.map((q, i) => Math.min(Math.floor(q), caps[i]!));
  let remaining = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((q, i) => i).sort((a, b) => exact[b]! - Math.floor(exact[b]!) - (exact[a]! - Math.floor(exact[a]!)) || a - b);
  while (remaining > 0) {
    const before = remaining;
    for (const i of order) {
      if (remaining === 0) break;
      if (parts[i]! < caps[i]!) {
        parts[i]!++;
        remaining--;
      }
    }
    if (remaining === before) break; // every part is at its cap
  }
  return parts;
};

const checkFraction = (source: string, name: string, value: number): void => {
  if (!(Number.isFinite(value) && value >= 0 && value < 1)) dataFail(source, `the ${name} fraction must be in [0, 1), got ${value}`);
};

/**
 * Shuffles the rows with a seeded RNG and splits them into train, validation and test.
 *
 * @example
 * const { train, validation, test } = splitDataset(iris, { test: 0.2, validation: 0.1, seed: 42, stratify: true });
 */
export const splitDataset = <A extends FloatArray>(ds: Dataset<A>, options: SplitOptions = {}): Splits<A> => {
  const testFraction = options.test ?? 0.2;
  const validationFraction = options.validation ?? 0;
  checkFraction(ds.source, "test", testFraction);
  checkFraction(ds.source, "validation", validationFraction);
  const n = ds.features.rows;
  const testCount = Math.round(testFraction * n);
  const validationCount = Math.round(validationFraction * n);
  if (testCount + validationCount >= n) {
    dataFail(ds.source, `test (${testCount}) and validation (${validationCount}) rows leave no training rows out of ${n}`);
  }
  let rng = options.rng ?? rngFromSeed(options.seed ?? 0);
  let test: number[];
  let validation: number[];
  let train: number[];
  if (options.stratify === true) {
    const labels = classIndicesOf(ds);
    const groups: number[][] = [];
    labels.forEach((k, r) => (groups[k] ??= []).push(r));
    const sizes = Array.from({ length: groups.length }, (_, k) => groups[k]?.length ?? 0);
    const testParts = allocateProportionally(testCount, sizes, sizes);
    const validationParts = allocateProportionally(validationCount, sizes, sizes.map((s, k) => s - testParts[k]!));
    test = [];
    validation = [];
    train = [];
    for (let k = 0; k < sizes.length; k++) {
      const [order, next] = shuffle(rng, groups[k] ?? []);
      rng = next;
      test.push(...order.slice(0, testParts[k]));
      validation.push(...order.slice(testParts[k], testParts[k]! + validationParts[k]!));
      train.push(...order.slice(testParts[k]! + validationParts[k]!));
    }
    // Interleave the classes within each split.
    [train, rng] = shuffle(rng, train);
    [validation, rng] = shuffle(rng, validation);
    [test, rng] = shuffle(rng, test);
  } else {
    const [order, next] = permutation(rng, n);
    rng = next;
    const all = Array.from(order);
    test = all.slice(0, testCount);
    validation = all.slice(testCount, testCount + validationCount);
    train = all.slice(testCount + validationCount);
  }
  return {
    train: selectRows(ds, train),
    validation: selectRows(ds, validation),
    test: selectRows(ds, test),
    indices: { train: Int32Array.from(train), validation: Int32Array.from(validation), test: Int32Array.from(test) },
    rng,
  };
};
