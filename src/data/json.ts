/**
 * JSON datasets: a top-level array of rows, either all objects (`[{"x": 1, "y": 2,
 * "label": "a"}, ...]`, columns named by the first object's keys) or all arrays
 * (`[[1, 2, 0], ...]`, columns from `columns` or col1, col2, ...).
 *
 * Takes JSON text or an already parsed value; guarantees a dataset validated by io-ts
 * cell by cell (numbers must be JSON numbers, null is a missing value), or a DataError
 * naming the row (1-based element number) and column of each problem. Every object must
 * have exactly the first object's keys.
 */
import * as fs from "node:fs";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { DataError, type DataIssue, type Dataset } from "./dataset.js";
import { NumberFromJsonCell, tableToDataset, type RawRecord, type TableOptions } from "./table.js";

export interface JsonDatasetOptions extends TableOptions {
  /** Column names for a JSON array of arrays (default col1, col2, ...). Ignored for objects. */
  readonly columns?: readonly string[];
}

const JsonRows = t.union([t.array(t.UnknownRecord), t.array(t.UnknownArray)]);

const MAX_ISSUES = 20;

/**
 * Builds a dataset from a parsed JSON value (pure).
 *
 * @example
 * decodeJsonDataset([{ x: 1, label: "a" }, { x: 2, label: "b" }], { label: "label" }) // Right(2 rows)
 */
export const decodeJsonDataset = (value: unknown, options: JsonDatasetOptions = {}): E.Either<DataError, Dataset<Float64Array>> => {
  const source = options.source ?? "json";
  const rows = JsonRows.decode(value);
  if (E.isLeft(rows)) {
    const kind = Array.isArray(value) ? "an array mixing objects, arrays and other values" : value === null ? "null" : typeof value;
    return E.left(new DataError(source, [{ message: `expected an array of row objects or an array of row arrays, got ${kind}` }]));
  }
  const list = rows.right;
  if (list.length === 0) return E.left(new DataError(source, [{ message: "the dataset is empty: the array has no rows" }]));
  if (Array.isArray(list[0])) {
    const arrays = list as readonly (readonly unknown[])[];
    const width = arrays[0]!.length;
    const columns = options.columns ?? Array.from({ length: width }, (_, c) => `col${c + 1}`);
    const records: RawRecord[] = arrays.map((cells, i) => ({ row: i + 1, cells }));
    return tableToDataset({ columns, records }, { ...options, source }, NumberFromJsonCell);
  }
  const objects = list as readonly Record<string, unknown>[];
  const columns = Object.keys(objects[0]!);
  const known = new Set(columns);
  const issues: DataIssue[] = [];
  const records: RawRecord[] = [];
  objects.forEach((obj, i) => {
    if (issues.length >= MAX_ISSUES) return;
    const row = i + 1;
    const keys = Object.keys(obj);
    const missing = columns.filter((c) => !Object.prototype.hasOwnProperty.call(obj, c));
    const extra = keys.filter((k) => !known.has(k));
    for (const c of missing) issues.push({ row, column: c, message: "key missing (every row needs the first row's keys)" });
    for (const k of extra) issues.push({ row, column: k, message: "unexpected key (not in the first row)" });
    records.push({ row, cells: columns.map((c) => obj[c]) });
  });
  if (issues.length > 0) return E.left(new DataError(source, issues.slice(0, MAX_ISSUES)));
  return tableToDataset({ columns, records }, { ...options, source }, NumberFromJsonCell);
};

/**
 * Parses JSON text into a dataset (pure); a syntax error is reported with its position.
 *
 * @example
 * parseJsonDataset('[{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]', { label: "y" }) // Right(2 rows)
 */
export const parseJsonDataset = (text: string, options: JsonDatasetOptions = {}): E.Either<DataError, Dataset<Float64Array>> => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return E.left(new DataError(options.source ?? "json", [{ message: `malformed JSON: ${(e as Error).message}` }]));
  }
  return decodeJsonDataset(value, options);
};

/**
 * Reads a JSON dataset file; throws a DataError naming the file, row and column of each problem.
 *
 * @example
 * const ds = loadJson("data/points.json", { label: "class" });
 */
export const loadJson = (path: string, options: JsonDatasetOptions = {}): Dataset<Float64Array> => {
  const result = parseJsonDataset(fs.readFileSync(path, "utf8"), { source: path, ...options });
  if (E.isLeft(result)) throw result.left;
  return result.right;
};
