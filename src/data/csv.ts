/**
 * CSV reading (RFC 4180): a header line, comma-separated fields (or another delimiter),
 * double-quoted fields that may contain delimiters, newlines and doubled quotes (`""`),
 * LF or CRLF line ends, an optional UTF-8 byte-order mark. Blank lines are skipped.
 *
 * Takes text; guarantees either a dataset whose every value was validated
 * (`table.ts`), or a DataError naming the row (the 1-based line in the file where the
 * record starts) and column of each problem. A malformed file (unterminated quote, text
 * after a closing quote, a quote inside an unquoted field) is an error, not a guess.
 */
import * as fs from "node:fs";
import * as E from "fp-ts/lib/Either.js";
import { DataError, type Dataset } from "./dataset.js";
import { NumberFromCsvField, tableToDataset, type RawRecord, type TableOptions } from "./table.js";

export interface CsvOptions extends TableOptions {
  /** Field separator, one character. Default ",". */
  readonly delimiter?: string;
  /** The first record names the columns (default true); otherwise columns are col1, col2, ... */
  readonly header?: boolean;
}

/** CSV records with the 1-based line on which each starts. */
export interface CsvRecords {
  readonly records: readonly RawRecord[];
}

/**
 * Splits CSV text into records of fields (no type conversion).
 *
 * @example
 * parseCsvRecords('a,b\n1,"x, y"\n') // Right({ records: [{ row: 1, cells: ["a", "b"] }, { row: 2, cells: ["1", "x, y"] }] })
 */
export const parseCsvRecords = (text: string, delimiter = ",", source = "csv"): E.Either<DataError, CsvRecords> => {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    return E.left(new DataError(source, [{ message: `the delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}` }]));
  }
  const records: RawRecord[] = [];
  const fail = (row: number, message: string): E.Either<DataError, never> => E.left(new DataError(source, [{ row, message }]));
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false; // the current field was quoted (so it is complete)
  const endField = (): void => {
    fields.push(field);
    field = "";
    quoted = false;
  };
  const endRecord = (): void => {
    endField();
    // A blank line is one empty unquoted field: skip it.
    if (!(fields.length === 1 && fields[0] === "")) records.push({ row: recordLine, cells: fields });
    fields = [];
  };
  const atFieldStart = (): boolean => field === "" && !quoted;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      if (!atFieldStart()) return fail(line, quoted ? "unexpected quote after a quoted field" : "a quote inside an unquoted field (quote the whole field and double inner quotes)");
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) return fail(startLine, "unterminated quoted field (no closing quote before the end of the file)");
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === "\n") line++;
        field += c;
        i++;
      }
      quoted = true;
      const next = text[i];
      if (next !== undefined && next !== delimiter && next !== "\n" && next !== "\r") return fail(line, `unexpected ${JSON.stringify(next)} after a closing quote`);
      continue;
    }
    if (ch === delimiter) {
      endField();
      i++;
      continue;
    }
    if (ch === "\n" || ch === "\r") {
      endRecord();
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (field !== "" || quoted || fields.length > 0) endRecord();
  return E.right({ records });
};

/**
 * Parses CSV text into a dataset (pure). Every problem is reported with its line and column.
 *
 * @example
 * const ds = parseCsv("x,y,label\n1,2,a\n3,4,b\n", { label: "label" });
 * // Right: 2 rows, features x and y, classes ["a", "b"]
 */
export const parseCsv = (text: string, options: CsvOptions = {}): E.Either<DataError, Dataset<Float64Array>> => {
  const source = options.source ?? "csv";
  const parsed = parseCsvRecords(text, options.delimiter ?? ",", source);
  if (E.isLeft(parsed)) return parsed;
  const all = parsed.right.records;
  const header = options.header ?? true;
  if (header && all.length === 0) return E.left(new DataError(source, [{ message: "the file is empty: no header line" }]));
  const width = all[0]?.cells.length ?? 0;
  const columns = header ? all[0]!.cells.map(String) : Array.from({ length: width }, (_, c) => `col${c + 1}`);
  const emptyName = columns.findIndex((c) => c.trim() === "");
  if (emptyName >= 0) return E.left(new DataError(source, [{ row: all[0]!.row, message: `header field ${emptyName + 1} is empty: every column needs a name` }]));
  return tableToDataset({ columns, records: header ? all.slice(1) : all }, { ...options, source }, NumberFromCsvField);
};

/**
 * Reads a CSV file into a dataset; throws a DataError naming the file, row and column of
 * each problem.
 *
 * @example
 * const iris = loadCsv("data/iris.csv", { label: "species" });
 */
export const loadCsv = (path: string, options: CsvOptions = {}): Dataset<Float64Array> => {
  const result = parseCsv(fs.readFileSync(path, "utf8"), { source: path, ...options });
  if (E.isLeft(result)) throw result.left;
  return result.right;
};
