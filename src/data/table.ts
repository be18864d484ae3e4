/**
 * From a raw table (column names plus records of untyped cells, each with its 1-based
 * source row) to a validated `Dataset`. Shared by the CSV and JSON readers.
 *
 * Takes cells as text (CSV) or JSON values; guarantees that every feature value came
 * from a number written as a number (io-ts codecs below: "12a", "1,5", `true` or a JSON
 * string are errors, never coerced), that missing cells are errors unless the caller
 * asked for NaN, and that labels are in range. Problems are collected (up to a cap), each
 * with its row and column.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { DataError, type ClassTargets, type DataIssue, type Dataset, type Targets } from "./dataset.js";

/** How a table becomes features and targets. */
export interface TableOptions {
  /** The label column: a name or a 0-based index. Default: the last column. */
  readonly label?: string | number;
  /** "classes" (default): labels are class names or integer class indices. "values": real targets. */
  readonly labelKind?: "classes" | "values";
  /** Fixed class order; every label must be one of these names. */
  readonly classNames?: readonly string[];
  /** Integer labels must lie in [0, numClasses). Default: inferred as max + 1. */
  readonly numClasses?: number;
  /** Feature columns to keep, in this order. Default: every column except the label. */
  readonly features?: readonly string[];
  /** An empty (CSV) or null (JSON) cell is an error (default), or becomes NaN for you to handle. */
  readonly missing?: "error" | "nan";
  /** Name used in messages, e.g. the file path. */
  readonly source?: string;
}

export interface RawRecord {
  /** 1-based row number in the source (CSV: the line where the record starts). */
  readonly row: number;
  readonly cells: readonly unknown[];
}

export interface RawTable {
  readonly columns: readonly string[];
  readonly records: readonly RawRecord[];
}

const MAX_ISSUES = 20;

/** A missing cell: the empty CSV field or JSON null. */
export const MISSING = Symbol("missing");

const strictDecimal = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const nonFiniteWords: ReadonlyMap<string, number> = new Map([
  ["nan", NaN],
  ["inf", Infinity],
  ["+inf", Infinity],
  ["-inf", -Infinity],
  ["infinity", Infinity],
  ["+infinity", Infinity],
  ["-infinity", -Infinity],
]);

/**
 * A CSV field holding a number: a plain decimal (`-1.5e3`, `.5`), or one of the explicit
 * non-finite words `NaN`, `inf`, `Infinity` (any case, optional sign). Surrounding spaces
 * and tabs are ignored; an empty field decodes to MISSING.
 */
export const NumberFromCsvField = new t.Type<number | typeof MISSING, string, unknown>(
  "NumberFromCsvField",
  (u): u is number | typeof MISSING => typeof u === "number" || u === MISSING,
  (u, c) => {
    if (typeof u !== "string") return t.failure(u, c, "expected text");
    const s = u.trim();
    if (s === "") return t.success(MISSING);
    if (strictDecimal.test(s)) return t.success(Number(s));
    const word = nonFiniteWords.get(s.toLowerCase());
    return word === undefined ? t.failure(u, c, `${JSON.stringify(u)} is not a number`) : t.success(word);
  },
  (n) => (n === MISSING ? "" : String(n)),
);

/** A JSON cell holding a number: a JSON number, or null (MISSING). Strings are not numbers. */
export const NumberFromJsonCell = new t.Type<number | typeof MISSING, unknown, unknown>(
  "NumberFromJsonCell",
  (u): u is number | typeof MISSING => typeof u === "number" || u === MISSING,
  (u, c) =>
    typeof u === "number" ? t.success(u) : u === null ? t.success(MISSING) : t.failure(u, c, `expected a number, got ${describeJson(u)}`),
  (n) => (n === MISSING ? null : n),
);

const describeJson = (u: unknown): string =>
  typeof u === "string" ? `the string ${JSON.stringify(u.length > 30 ? `${u.slice(0, 30)}...` : u)}` : Array.isArray(u) ? "an array" : u === null ? "null" : typeof u;

/** The text of a label cell: CSV text trimmed, a JSON string or number. */
const labelText = (u: unknown): string | typeof MISSING | undefined =>
  typeof u === "string" ? (u.trim() === "" ? MISSING : u.trim()) : typeof u === "number" ? String(u) : u === null ? MISSING : undefined;

const integerLabel = /^[+-]?\d+$/;

const decodeMessage = (errors: t.Errors): string => errors.map((e) => e.message ?? "invalid value").join("; ");

const resolveColumn = (columns: readonly string[], spec: string | number, what: string): number | string => {
  if (typeof spec === "number") {
    return Number.isInteger(spec) && spec >= 0 && spec < columns.length ? spec : `${what} index ${spec} is outside [0, ${columns.length})`;
  }
  const i = columns.indexOf(spec);
  return i >= 0 ? i : `no ${what} column ${JSON.stringify(spec)}; the columns are ${columns.map((c) => JSON.stringify(c)).join(", ")}`;
};

const classTargets = (labels: readonly string[], rows: readonly number[], column: string, options: TableOptions, issues: DataIssue[]): ClassTargets => {
  const indices = new Int32Array(labels.length);
  if (options.classNames !== undefined) {
    const names = options.classNames;
    labels.forEach((l, i) => {
      const k = names.indexOf(l);
      if (k < 0) issues.push({ row: rows[i]!, column, message: `label ${JSON.stringify(l)} is not one of the classes ${names.map((n) => JSON.stringify(n)).join(", ")}` });
      indices[i] = k;
    });
    return { kind: "classes", indices, classNames: names };
  }
  if (options.numClasses !== undefined || labels.every((l) => integerLabel.test(l))) {
    let largest = -1;
    labels.forEach((l, i) => {
      const k = Number(l);
      const limit = options.numClasses ?? Infinity;
      if (!integerLabel.test(l) || k < 0 || k >= limit) {
        const range = options.numClasses === undefined ? "a class index >= 0" : `a class index in [0, ${options.numClasses})`;
        issues.push({ row: rows[i]!, column, message: `label ${JSON.stringify(l)} is out of range: expected ${range}` });
      }
      indices[i] = k;
      largest = Math.max(largest, k);
    });
    const count = options.numClasses ?? largest + 1;
    return { kind: "classes", indices, classNames: Array.from({ length: count }, (_, k) => String(k)) };
  }
  const names = [...new Set(labels)].sort();
  const position = new Map(names.map((n, k) => [n, k]));
  labels.forEach((l, i) => (indices[i] = position.get(l)!));
  return { kind: "classes", indices, classNames: names };
};

/**
 * Validates a raw table and builds a float64 dataset. Returns every problem found (up to 20)
 * in one DataError, or the dataset.
 */
export const tableToDataset = (
  table: RawTable,
  options: TableOptions,
  cellCodec: t.Type<number | typeof MISSING, unknown, unknown>,
): E.Either<DataError, Dataset<Float64Array>> => {
  const source = options.source ?? "data";
  const fail = (message: string, row?: number, column?: string): E.Either<DataError, never> =>
    E.left(new DataError(source, [{ message, ...(row === undefined ? {} : { row }), ...(column === undefined ? {} : { column }) }]));
  const { columns, records } = table;
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) return fail(`the column name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
  }
  if (columns.length < 2) return fail(`need at least one feature column and a label column, found ${columns.length} column(s)`);
  if (records.length === 0) return fail("the dataset is empty: no data rows");
  const labelIndex = resolveColumn(columns, options.label ?? columns.length - 1, "label");
  if (typeof labelIndex === "string") return fail(labelIndex);
  const featureIndices: number[] = [];
  for (const name of options.features ?? columns.filter((_, i) => i !== labelIndex)) {
    const i = resolveColumn(columns, name, "feature");
    if (typeof i === "string") return fail(i);
    if (i === labelIndex) return fail(`the column ${JSON.stringify(name)} cannot be both a feature and the label`);
    featureIndices.push(i);
  }
  if (featureIndices.length === 0) return fail("no feature columns selected");

  const issues: DataIssue[] = [];
  const cols = featureIndices.length;
  const data = new Float64Array(records.length * cols);
  const labels: string[] = [];
  const rows = records.map((r) => r.row);
  const labelColumn = columns[labelIndex]!;
  for (let r = 0; r < records.length && issues.length < MAX_ISSUES; r++) {
    const { row, cells } = records[r]!;
    if (cells.length !== columns.length) {
      issues.push({ row, message: `has ${cells.length} field(s), expected ${columns.length} (${columns.map((c) => JSON.stringify(c)).join(", ")})` });
      continue;
    }
    featureIndices.forEach((ci, c) => {
      const decoded = cellCodec.decode(cells[ci]);
      if (E.isLeft(decoded)) {
        issues.push({ row, column: columns[ci]!, message: decodeMessage(decoded.left) });
      } else if (decoded.right === MISSING) {
        if (options.missing === "nan") data[r * cols + c] = NaN;
        else issues.push({ row, column: columns[ci]!, message: 'missing value (pass missing: "nan" to load it as NaN and handle it yourself)' });
      } else {
        data[r * cols + c] = decoded.right;
      }
    });
    const label = labelText(cells[labelIndex]);
    if (label === undefined) issues.push({ row, column: labelColumn, message: `expected a label (text or number), got ${describeJson(cells[labelIndex])}` });
    else if (label === MISSING) issues.push({ row, column: labelColumn, message: "missing label" });
    else labels.push(label);
  }
  if (issues.length > 0) return E.left(new DataError(source, issues.slice(0, MAX_ISSUES)));

  let targets: Targets;
  if (options.labelKind === "values") {
    const values = new Float64Array(labels.length);
    labels.forEach((l, i) => {
      const decoded = NumberFromCsvField.decode(l);
      if (E.isLeft(decoded) || decoded.right === MISSING) issues.push({ row: rows[i]!, column: labelColumn, message: `target ${JSON.stringify(l)} is not a number` });
      else values[i] = decoded.right;
    });
    targets = { kind: "values", values: { rows: labels.length, cols: 1, data: values }, names: [labelColumn] };
  } else {
    targets = classTargets(labels, rows, labelColumn, options, issues);
  }
  if (issues.length > 0) return E.left(new DataError(source, issues.slice(0, MAX_ISSUES)));
  return E.right({
    features: { rows: records.length, cols, data },
    featureNames: featureIndices.map((i) => columns[i]!),
    targets,
    sourceRows: Int32Array.from(rows),
    source,
  });
};
