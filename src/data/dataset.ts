/**
 * The in-memory dataset: a row-major feature matrix, column names, targets (class
 * indices or real values) and, for every row, where it came from (1-based row number in
 * the source file), so errors and reports can point at the user's data.
 *
 * All functions are pure: they never modify their inputs and return new arrays.
 */
import { ValidationError } from "../errors.js";

export type FloatArray = Float32Array | Float64Array;

/** A row-major matrix: element (r, c) is `data[r * cols + c]`. */
export interface Matrix<A extends FloatArray = FloatArray> {
  readonly rows: number;
  readonly cols: number;
  readonly data: A;
}

/** Class labels: `indices[r]` in [0, classNames.length). */
export interface ClassTargets {
  readonly kind: "classes";
  readonly indices: Int32Array;
  readonly classNames: readonly string[];
}

/** Real-valued targets (regression), one row per example. */
export interface ValueTargets {
  readonly kind: "values";
  readonly values: Matrix;
  readonly names: readonly string[];
}

export type Targets = ClassTargets | ValueTargets;

export interface Dataset<A extends FloatArray = FloatArray> {
  readonly features: Matrix<A>;
  readonly featureNames: readonly string[];
  readonly targets: Targets;
  /** 1-based row number of each row in its source (file line for CSV, element number for JSON). */
  readonly sourceRows: Int32Array;
  /** Where the data came from (a file path or a name), used in messages. */
  readonly source: string;
}

/** One problem found in a dataset. `row` is 1-based as in the source; `column` is a name. */
export interface DataIssue {
  readonly row?: number;
  readonly column?: string;
  readonly message: string;
}

const MAX_LISTED_ISSUES = 5;

export const formatIssue = (source: string, issue: DataIssue): string => {
  const where = [issue.row === undefined ? undefined : `row ${issue.row}`, issue.column === undefined ? undefined : `column ${JSON.stringify(issue.column)}`]
    .filter((s) => s !== undefined)
    .join(", ");
  return `${source}${where === "" ? "" : ` ${where}`}: ${issue.message}`;
};

/**
 * Bad data or a bad data argument. `issues` lists every problem found (capped by the
 * reader), the message the first few, each with its source, row and column.
 *
 * @example
 * try { loadCsv("data.csv"); } catch (e) { if (e instanceof DataError) console.log(e.issues[0]?.row, e.issues[0]?.column); }
 */
export class DataError extends ValidationError {
  constructor(
    readonly source: string,
    readonly issues: readonly DataIssue[],
  ) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => formatIssue(source, i));
    const more = issues.length > MAX_LISTED_ISSUES ? `\n(and ${issues.length - MAX_LISTED_ISSUES} more)` : "";
    super(listed.join("\n") + more);
  }
}

/** Throws a DataError with a single issue. */
export const dataFail = (source: string, message: string, row?: number, column?: string): never => {
  throw new DataError(source, [{ message, ...(row === undefined ? {} : { row }), ...(column === undefined ? {} : { column }) }]);
};

/**
 * Number of rows (examples).
 *
 * @example
 * numRows(loadIris()) // 150
 */
export const numRows = (ds: Dataset): number => ds.features.rows;

/** Allocates an array of the same float type as `like`. */
export const allocateLike = <A extends FloatArray>(like: A, length: number): A =>
  (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as A;

/** The rows of `m` at `indices`, in that order. */
export const gatherRows = <A extends FloatArray>(m: Matrix<A>, indices: ArrayLike<number>): Matrix<A> => {
  const data = allocateLike(m.data, indices.length * m.cols);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data };
};

const gatherTargets = (t: Targets, indices: ArrayLike<number>): Targets =>
  t.kind === "classes"
    ? { kind: "classes", classNames: t.classNames, indices: Int32Array.from(indices, (r) => t.indices[r]!) }
    : { kind: "values", names: t.names, values: gatherRows(t.values, indices) };

/**
 * The rows at `indices` (0-based positions in `ds`), in that order, with their source rows.
 *
 * @example
 * const firstTen = selectRows(ds, Array.from({ length: 10 }, (_, i) => i));
 */
export const selectRows = <A extends FloatArray>(ds: Dataset<A>, indices: ArrayLike<number>): Dataset<A> => {
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= ds.features.rows) dataFail(ds.source, `selectRows: index ${r} is outside [0, ${ds.features.rows})`);
  }
  return {
    ...ds,
    features: gatherRows(ds.features, indices),
    targets: gatherTargets(ds.targets, indices),
    sourceRows: Int32Array.from(indices, (r) => ds.sourceRows[r]!),
  };
};

/**
 * The features as float32 (a copy), e.g. before feeding an f32 model.
 *
 * @example
 * const train32 = toFloat32(train); // features as Float32Array for an f32 model
 */
export const toFloat32 = (ds: Dataset): Dataset<Float32Array> => ({
  ...ds,
  features: { rows: ds.features.rows, cols: ds.features.cols, data: Float32Array.from(ds.features.data) },
});

export interface DatasetInput {
  /** One array of numbers per row, or a row-major matrix. */
  readonly features: readonly (readonly number[])[] | Matrix;
  readonly featureNames?: readonly string[];
  /** Class indices (with `classNames` or `numClasses`), or one array of target values per row. */
  readonly labels: ArrayLike<number> | readonly (readonly number[])[];
  readonly classNames?: readonly string[];
  readonly numClasses?: number;
  readonly targetNames?: readonly string[];
  readonly source?: string;
}

const toMatrix = (source: string, rows: readonly (readonly number[])[] | Matrix, what: string): Matrix<Float64Array> | Matrix => {
  if (!Array.isArray(rows)) {
    const m = rows as Matrix;
    if (m.data.length !== m.rows * m.cols) dataFail(source, `${what}: data has ${m.data.length} values but rows * cols = ${m.rows * m.cols}`);
    return m;
  }
  const list = rows as readonly (readonly number[])[];
  const cols = list[0]?.length ?? 0;
  const data = new Float64Array(list.length * cols);
  list.forEach((row, r) => {
    if (row.length !== cols) dataFail(source, `${what}: row has ${row.length} values, the first row has ${cols}`, r + 1);
    data.set(row, r * cols);
  });
  return { rows: list.length, cols, data };
};

/**
 * A dataset from arrays in memory (validated: equal row lengths, labels in range).
 *
 * @example
 * const xor = makeDataset({ features: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0], numClasses: 2 });
 * const regression = makeDataset({ features: [[1, 0], [-1, 0]], labels: [[1], [-1]] });
 */
export const makeDataset = (input: DatasetInput): Dataset => {
  const source = input.source ?? "dataset";
  const features = toMatrix(source, input.features, "features");
  if (features.rows === 0) dataFail(source, "the dataset has no rows");
  const featureNames = input.featureNames ?? Array.from({ length: features.cols }, (_, c) => `x${c}`);
  if (featureNames.length !== features.cols) dataFail(source, `${featureNames.length} feature names for ${features.cols} feature columns`);
  const labels = input.labels;
  const isValueRows = Array.isArray(labels) && labels.length > 0 && Array.isArray(labels[0]);
  let targets: Targets;
  if (isValueRows) {
    const values = toMatrix(source, labels as readonly (readonly number[])[], "labels");
    targets = { kind: "values", values, names: input.targetNames ?? Array.from({ length: values.cols }, (_, c) => `y${c}`) };
    if (values.rows !== features.rows) dataFail(source, `${values.rows} label rows for ${features.rows} feature rows`);
  } else {
    const flat = labels as ArrayLike<number>;
    if (flat.length !== features.rows) dataFail(source, `${flat.length} labels for ${features.rows} feature rows`);
    let largest = -1;
    for (let r = 0; r < flat.length; r++) largest = Math.max(largest, flat[r]!);
    const numClasses = input.classNames?.length ?? input.numClasses ?? largest + 1;
    for (let r = 0; r < flat.length; r++) {
      const y = flat[r]!;
      if (!Number.isInteger(y) || y < 0 || y >= numClasses) dataFail(source, `label ${y} is not a class index in [0, ${numClasses})`, r + 1);
    }
    targets = { kind: "classes", indices: Int32Array.from(flat), classNames: input.classNames ?? Array.from({ length: numClasses }, (_, k) => String(k)) };
  }
  return { features, featureNames, targets, sourceRows: Int32Array.from({ length: features.rows }, (_, r) => r + 1), source };
};

/**
 * Number of classes of a classification dataset (throws for regression targets).
 *
 * @example
 * numClassesOf(loadIris()) // 3
 */
export const numClassesOf = (ds: Dataset): number =>
  ds.targets.kind === "classes" ? ds.targets.classNames.length : dataFail(ds.source, "the dataset has real-valued targets, not classes");

/**
 * Class indices of a classification dataset (throws for regression targets).
 *
 * @example
 * const labels = classIndicesOf(test); // Int32Array of class indices
 */
export const classIndicesOf = (ds: Dataset): Int32Array =>
  ds.targets.kind === "classes" ? ds.targets.indices : dataFail(ds.source, "the dataset has real-valued targets, not classes");
