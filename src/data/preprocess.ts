/**
 * Preprocessing as pure functions: scalers fitted on the training split only and then
 * applied to any split, one-hot encoding, and finding or dropping rows with missing or
 * non-finite values.
 *
 * Takes datasets; guarantees new arrays (inputs are never modified), scaler statistics as
 * plain JSON-serializable objects (decoded with io-ts when read back), and errors that name
 * the column and source row of the offending value.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { formatDecodeErrors } from "./decodeErrors.js";
import { allocateLike, dataFail, DataError, selectRows, type Dataset, type FloatArray, type Matrix } from "./dataset.js";

/** Per-column mean and standard deviation (population std; 0 means a constant column). */
export interface StandardizeStats {
  readonly kind: "standardize";
  readonly columns: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Per-column minimum and maximum and the target range [low, high]. */
export interface MinMaxStats {
  readonly kind: "minMax";
  readonly columns: readonly string[];
  readonly min: readonly number[];
  readonly max: readonly number[];
  readonly low: number;
  readonly high: number;
}

export type ScalerStats = StandardizeStats | MinMaxStats;

const finiteArray = t.readonlyArray(t.refinement(t.number, Number.isFinite, "FiniteNumber"));

/** io-ts codec for scaler statistics read from JSON (e.g. saved next to a checkpoint). */
export const ScalerStatsCodec: t.Type<ScalerStats, ScalerStats, unknown> = t.union([
  t.type({ kind: t.literal("standardize"), columns: t.readonlyArray(t.string), mean: finiteArray, std: finiteArray }),
  t.type({ kind: t.literal("minMax"), columns: t.readonlyArray(t.string), min: finiteArray, max: finiteArray, low: t.number, high: t.number }),
]);

/**
 * Decodes scaler statistics from untrusted JSON, checking that the arrays have equal lengths.
 *
 * @example
 * const stats = decodeScalerStats(JSON.parse(fs.readFileSync("out/scaler.json", "utf8")));
 */
export const decodeScalerStats = (json: unknown): E.Either<DataError, ScalerStats> => {
  const decoded = ScalerStatsCodec.decode(json);
  if (E.isLeft(decoded)) {
    return E.left(new DataError("scaler stats", [{ message: `invalid statistics: ${formatDecodeErrors(decoded.left)}` }]));
  }
  const s = decoded.right;
  const lengths = s.kind === "standardize" ? [s.mean.length, s.std.length] : [s.min.length, s.max.length];
  if (lengths.some((n) => n !== s.columns.length)) {
    return E.left(new DataError("scaler stats", [{ message: `${s.columns.length} columns but statistics of length ${lengths.join(" and ")}` }]));
  }
  return E.right(s);
};

const columnValues = (ds: Dataset, c: number, what: string): Float64Array => {
  const { rows, cols, data } = ds.features;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = data[r * cols + c]!;
    if (!Number.isFinite(v)) {
      dataFail(ds.source, `cannot ${what}: value ${v} (drop or impute non-finite values first, see dropNonFiniteRows)`, ds.sourceRows[r], ds.featureNames[c]);
    }
    out[r] = v;
  }
  return out;
};

/**
 * Fits standardization on the training split: mean and population std per column, in float64.
 *
 * @example
 * const stats = fitStandardizer(splits.train);
 * const test = applyScaler(stats, splits.test); // uses the training mean and std
 */
export const fitStandardizer = (train: Dataset): StandardizeStats => {
  const { rows, cols } = train.features;
  if (rows === 0) dataFail(train.source, "cannot fit a scaler on an empty dataset");
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < cols; c++) {
    const values = columnValues(train, c, "fit the standardizer");
    let sum = 0;
    for (const v of values) sum += v;
    const m = sum / rows;
    let squares = 0; // two-pass for accuracy
    for (const v of values) squares += (v - m) * (v - m);
    mean.push(m);
    std.push(Math.sqrt(squares / rows));
  }
  return { kind: "standardize", columns: [...train.featureNames], mean, std };
};

/**
 * Fits min-max scaling to [low, high] (default [0, 1]) on the training split.
 *
 * @example
 * const stats = fitMinMax(train, [-1, 1]);
 * const scaledTest = applyScaler(stats, test);
 */
export const fitMinMax = (train: Dataset, range: readonly [number, number] = [0, 1]): MinMaxStats => {
  const [low, high] = range;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) dataFail(train.source, `the min-max range must be finite with low < high, got [${low}, ${high}]`);
  if (train.features.rows === 0) dataFail(train.source, "cannot fit a scaler on an empty dataset");
  const min: number[] = [];
  const max: number[] = [];
  for (let c = 0; c < train.features.cols; c++) {
    const values = columnValues(train, c, "fit the min-max scaler");
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    min.push(lo);
    max.push(hi);
  }
  return { kind: "minMax", columns: [...train.featureNames], min, max, low, high };
};

/** The scale and offset per column such that scaled = (x - offset) * scale (+ low for min-max). */
const affineOf = (stats: ScalerStats): { offset: readonly number[]; scale: number[]; shift: number } =>
  stats.kind === "standardize"
    ? { offset: stats.mean, scale: stats.std.map((s) => (s > 0 ? 1 / s : 1)), shift: 0 }
    : { offset: stats.min, scale: stats.min.map((lo, c) => (stats.max[c]! > lo ? (stats.high - stats.low) / (stats.max[c]! - lo) : 0)), shift: stats.low };

/**
 * Applies fitted statistics to a dataset (any split). Constant columns (std 0, or min = max)
 * map to 0 (standardize) or `low` (min-max). Non-finite values stay non-finite. The column
 * names must match the ones the statistics were fitted on.
 *
 * @example
 * const scaledTest = applyScaler(fitStandardizer(train), test);
 */
export const applyScaler = <A extends FloatArray>(stats: ScalerStats, ds: Dataset<A>): Dataset<A> => {
  const { rows, cols, data } = ds.features;
  if (stats.columns.length !== cols || stats.columns.some((name, c) => name !== ds.featureNames[c])) {
    dataFail(ds.source, `the scaler was fitted on columns [${stats.columns.join(", ")}] but the dataset has [${ds.featureNames.join(", ")}]`);
  }
  const { offset, scale, shift } = affineOf(stats);
  const out = allocateLike(data, data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = (data[r * cols + c]! - offset[c]!) * scale[c]! + shift;
  }
  const features: Matrix<A> = { rows, cols, data: out };
  return { ...ds, features };
};

export interface ScaledSplits<A extends FloatArray> {
  readonly train: Dataset<A>;
  readonly validation: Dataset<A>;
  readonly test: Dataset<A>;
  readonly stats: ScalerStats;
}

/**
 * Fits a scaler on `splits.train` only and applies it to all three splits: the safe way
 * to normalize (statistics of the validation and test data never leak into training).
 *
 * @example
 * const { train, validation, test, stats } = scaleSplits(splitDataset(iris, { test: 0.2, seed: 1 }), "standardize");
 */
export const scaleSplits = <A extends FloatArray>(
  splits: { readonly train: Dataset<A>; readonly validation: Dataset<A>; readonly test: Dataset<A> },
  kind: "standardize" | "minMax",
): ScaledSplits<A> => {
  const stats = kind === "standardize" ? fitStandardizer(splits.train) : fitMinMax(splits.train);
  return { train: applyScaler(stats, splits.train), validation: applyScaler(stats, splits.validation), test: applyScaler(stats, splits.test), stats };
};

/**
 * One-hot encodes class indices as a row-major `[labels.length, numClasses]` matrix.
 *
 * @example
 * oneHotEncode([2, 0], 3) // Float32Array [0, 0, 1, 1, 0, 0]
 */
export const oneHotEncode = (labels: ArrayLike<number>, numClasses: number, dtype: "f32" | "f64" = "f32"): Float32Array | Float64Array => {
  if (!Number.isInteger(numClasses) || numClasses < 1) dataFail("oneHotEncode", `numClasses must be a positive integer, got ${numClasses}`);
  const out = dtype === "f32" ? new Float32Array(labels.length * numClasses) : new Float64Array(labels.length * numClasses);
  for (let r = 0; r < labels.length; r++) {
    const k = labels[r]!;
    if (!Number.isInteger(k) || k < 0 || k >= numClasses) dataFail("oneHotEncode", `label ${k} at position ${r} is out of range [0, ${numClasses})`);
    out[r * numClasses + k] = 1;
  }
  return out;
};

/** A missing (NaN) or infinite value: 1-based source row, 0-based dataset index, column. */
export interface NonFiniteValue {
  readonly row: number;
  readonly index: number;
  readonly column: string;
  readonly value: number;
}

/**
 * Every NaN (missing) or infinite value in the features and real-valued targets, in row order.
 *
 * @example
 * findNonFinite(ds) // [{ row: 7, index: 5, column: "petal_width", value: NaN }]
 */
export const findNonFinite = (ds: Dataset): NonFiniteValue[] => {
  const found: NonFiniteValue[] = [];
  const scan = (m: Matrix, names: readonly string[], r: number): void => {
    for (let c = 0; c < m.cols; c++) {
      const value = m.data[r * m.cols + c]!;
      if (!Number.isFinite(value)) found.push({ row: ds.sourceRows[r]!, index: r, column: names[c]!, value });
    }
  };
  for (let r = 0; r < ds.features.rows; r++) {
    scan(ds.features, ds.featureNames, r);
    if (ds.targets.kind === "values") scan(ds.targets.values, ds.targets.names, r);
  }
  return found;
};

/**
 * Formats a non-finite report, one line per value, for logs.
 *
 * @example
 * console.log(formatNonFinite(ds.source, findNonFinite(ds))); // data.csv row 4, column "b": missing (NaN)
 */
export const formatNonFinite = (source: string, found: readonly NonFiniteValue[]): string =>
  found.map((f) => `${source} row ${f.row}, column ${JSON.stringify(f.column)}: ${Number.isNaN(f.value) ? "missing (NaN)" : String(f.value)}`).join("\n");

/**
 * Drops every row with a missing or non-finite value; returns the clean dataset and what was
 * dropped (so the caller can log or refuse it).
 *
 * @example
 * const { dataset, dropped } = dropNonFiniteRows(loadCsv("data.csv", { missing: "nan" }));
 */
export const dropNonFiniteRows = <A extends FloatArray>(ds: Dataset<A>): { dataset: Dataset<A>; dropped: NonFiniteValue[] } => {
  const dropped = findNonFinite(ds);
  const bad = new Set(dropped.map((d) => d.index));
  const keep: number[] = [];
  for (let r = 0; r < ds.features.rows; r++) if (!bad.has(r)) keep.push(r);
  return { dataset: selectRows(ds, keep), dropped };
};
