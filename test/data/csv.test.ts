/**
 * CSV and JSON loaders: the happy path, quoting, and every kind of bad input reported by
 * row (1-based, as in the file) and column, with nothing silently coerced.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { DataError, type Dataset } from "../../src/data/dataset.js";
import { loadCsv, parseCsv, parseCsvRecords, type CsvOptions } from "../../src/data/csv.js";
import { decodeJsonDataset, loadJson, parseJsonDataset } from "../../src/data/json.js";

const ok = (text: string, options: CsvOptions = {}): Dataset => {
  const r = parseCsv(text, options);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};
const err = (r: E.Either<DataError, unknown>): DataError => {
  if (E.isRight(r)) throw new Error("expected an error");
  expect(r.left).toBeInstanceOf(DataError);
  return r.left;
};

describe("CSV records", () => {
  it("handles quotes, doubled quotes, embedded delimiters and newlines, CRLF, BOM and blank lines", () => {
    const text = '\ufeffa,b,c\r\n1,"x, ""y""",3\r\n\r\n2,"multi\nline",4\n5,,6';
    const r = parseCsvRecords(text);
    expect(E.isRight(r) && r.right.records).toEqual([
      { row: 1, cells: ["a", "b", "c"] },
      { row: 2, cells: ["1", 'x, "y"', "3"] },
      { row: 4, cells: ["2", "multi\nline", "4"] },
      { row: 6, cells: ["5", "", "6"] },
    ]);
  });

  it("reports malformed quoting with the line", () => {
    expect(err(parseCsvRecords('a,b\n1,"open\n2,3\n')).message).toBe('csv row 2: unterminated quoted field (no closing quote before the end of the file)');
    expect(err(parseCsvRecords('a,b\n1,"x"y\n')).message).toBe('csv row 2: unexpected "y" after a closing quote');
    expect(err(parseCsvRecords('a,b\n\n1,x"y\n')).message).toMatch(/^csv row 3: a quote inside an unquoted field/);
    expect(err(parseCsvRecords("a;b", ";;")).message).toMatch(/delimiter must be one character/);
  });
});

describe("parseCsv", () => {
  it("builds features, class names (sorted) and source rows", () => {
    const ds = ok("x,y,label\n1,2.5,b\n-3e2, .5 ,a\n");
    expect(ds.featureNames).toEqual(["x", "y"]);
    expect(Array.from(ds.features.data)).toEqual([1, 2.5, -300, 0.5]);
    expect(ds.targets).toEqual({ kind: "classes", indices: Int32Array.from([1, 0]), classNames: ["a", "b"] });
    expect(Array.from(ds.sourceRows)).toEqual([2, 3]);
  });

  it("takes the label column by name or index, integer labels, fixed class order, other delimiters", () => {
    const byName = ok("label;x\n2;1\n0;2\n", { label: "label", delimiter: ";" });
    expect(byName.targets).toEqual({ kind: "classes", indices: Int32Array.from([2, 0]), classNames: ["0", "1", "2"] });
    const byIndex = ok("c,x\ncat,1\ndog,2\n", { label: 0, classNames: ["dog", "cat"] });
    expect(byIndex.targets.kind === "classes" && Array.from(byIndex.targets.indices)).toEqual([1, 0]);
    const noHeader = ok("1,2,0\n3,4,1\n", { header: false });
    expect(noHeader.featureNames).toEqual(["col1", "col2"]);
    const selected = ok("a,b,c,y\n1,2,3,0\n", { features: ["c", "a"] });
    expect(Array.from(selected.features.data)).toEqual([3, 1]);
    const regression = ok("x,y\n1,0.5\n2,-1\n", { labelKind: "values" });
    expect(regression.targets.kind === "values" && Array.from(regression.targets.values.data)).toEqual([0.5, -1]);
  });

  it("never coerces: non-numbers are errors with row and column", () => {
    const e = err(parseCsv("x,y,label\n1,2,a\n12a,3,b\n4,0x10,a\n5,1e,a\n6,1,5,a\n", { source: "pts.csv" }));
    expect(e.message).toBe(
      [
        'pts.csv row 3, column "x": "12a" is not a number',
        'pts.csv row 4, column "y": "0x10" is not a number',
        'pts.csv row 5, column "y": "1e" is not a number',
        'pts.csv row 6: has 4 field(s), expected 3 ("x", "y", "label")',
      ].join("\n"),
    );
    expect(e.issues).toHaveLength(4);
    expect(e.issues[0]).toEqual({ row: 3, column: "x", message: '"12a" is not a number' });
    for (const bad of ["1,5", "true", "Infinity1", "--1", "1.2.3", "١"]) {
      expect(err(parseCsv(`x,y\n"${bad}",0\n`)).issues[0]?.column).toBe("x");
    }
  });

  it("treats an empty field as missing: an error by default, NaN when asked", () => {
    expect(err(parseCsv("x,y,label\n1,,a\n")).message).toMatch(/^csv row 2, column "y": missing value \(pass missing: "nan"/);
    const ds = ok("x,y,label\n1,,a\n2,NaN,b\n3,-inf,a\n", { missing: "nan" });
    expect(Array.from(ds.features.data)).toEqual([1, NaN, 2, NaN, 3, -Infinity]);
    expect(err(parseCsv("x,label\n1,\n")).message).toBe('csv row 2, column "label": missing label');
  });

  it("reports empty files, missing columns, duplicate and empty names, ragged rows", () => {
    expect(err(parseCsv("")).message).toMatch(/empty: no header line/);
    expect(err(parseCsv("x,label\n\n")).message).toMatch(/the dataset is empty: no data rows/);
    expect(err(parseCsv("x,label\n1,a\n", { label: "species" })).message).toMatch(/no label column "species"; the columns are "x", "label"/);
    expect(err(parseCsv("x,x\n1,2\n")).message).toMatch(/"x" appears twice/);
    expect(err(parseCsv("x,,y\n1,2,3\n")).message).toMatch(/row 1: header field 2 is empty/);
    expect(err(parseCsv("x,y,label\n1,2\n")).message).toMatch(/row 2: has 2 field\(s\), expected 3/);
    expect(err(parseCsv("x,label\n1,a\n", { features: ["label"] })).message).toMatch(/both a feature and the label/);
  });

  it("reports labels out of range and unknown class names", () => {
    expect(err(parseCsv("x,y\n1,0\n2,10\n3,-1\n", { numClasses: 10 })).message).toBe(
      'csv row 3, column "y": label "10" is out of range: expected a class index in [0, 10)\ncsv row 4, column "y": label "-1" is out of range: expected a class index in [0, 10)',
    );
    expect(err(parseCsv("x,y\n1,0\n2,1.5\n", { numClasses: 3 })).issues[0]).toMatchObject({ row: 3, column: "y" });
    expect(err(parseCsv("x,y\n1,rose\n", { classNames: ["tulip"] })).message).toMatch(/row 2, column "y": label "rose" is not one of the classes "tulip"/);
  });

  it("caps the number of issues and says how many more there are", () => {
    const rows = Array.from({ length: 50 }, () => "x,a").join("\n");
    const e = err(parseCsv(`v,label\n${rows}\n`));
    expect(e.issues).toHaveLength(20);
    expect(e.message).toMatch(/\(and 15 more\)$/);
  });

  it("loadCsv reads a file and throws a DataError naming the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-csv-"));
    const file = path.join(dir, "d.csv");
    fs.writeFileSync(file, "x,label\n1,a\n2,b\n");
    expect(loadCsv(file).features.rows).toBe(2);
    fs.writeFileSync(file, "x,label\n1,a\nzz,b\n");
    expect(() => loadCsv(file)).toThrow(`${file} row 3, column "x": "zz" is not a number`);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("JSON datasets", () => {
  it("reads arrays of objects and arrays of arrays", () => {
    const objects = decodeJsonDataset([{ a: 1, b: 2, label: "x" }, { a: 3, b: null, label: "y" }], { missing: "nan" });
    expect(E.isRight(objects) && Array.from(objects.right.features.data)).toEqual([1, 2, 3, NaN]);
    const arrays = parseJsonDataset("[[1, 2, 0], [3, 4, 1]]", { columns: ["a", "b", "k"] });
    expect(E.isRight(arrays) && arrays.right.featureNames).toEqual(["a", "b"]);
    expect(E.isRight(arrays) && arrays.right.targets).toEqual({ kind: "classes", indices: Int32Array.from([0, 1]), classNames: ["0", "1"] });
  });

  it("reports strings, booleans, missing and extra keys by row (1-based) and column", () => {
    const e = err(decodeJsonDataset([{ a: 1, label: 0 }, { a: "2", label: 1 }, { a: true, label: 0 }, { label: 1 }, { a: 1, b: 2, label: 0 }]));
    expect(e.message).toBe(
      ['json row 4, column "a": key missing (every row needs the first row\'s keys)', 'json row 5, column "b": unexpected key (not in the first row)'].join("\n"),
    );
    const e2 = err(decodeJsonDataset([{ a: 1, label: 0 }, { a: "2", label: 1 }, { a: true, label: [0] }], { source: "d.json" }));
    expect(e2.message).toBe(
      [
        'd.json row 2, column "a": expected a number, got the string "2"',
        'd.json row 3, column "a": expected a number, got boolean',
        'd.json row 3, column "label": expected a label (text or number), got an array',
      ].join("\n"),
    );
  });

  it("rejects malformed JSON, non-arrays, mixed rows, empty arrays and ragged arrays", () => {
    expect(err(parseJsonDataset("[{]")).message).toMatch(/^json: malformed JSON: /);
    expect(err(parseJsonDataset('{"a": 1}')).message).toMatch(/expected an array of row objects or an array of row arrays, got object/);
    expect(err(parseJsonDataset('[[1, 0], {"a": 1}]')).message).toMatch(/an array mixing objects, arrays/);
    expect(err(parseJsonDataset("[]")).message).toMatch(/the dataset is empty/);
    expect(err(parseJsonDataset("[[1, 2, 0], [1, 0]]")).message).toMatch(/row 2: has 2 field\(s\), expected 3/);
  });

  it("treats a __proto__ key as an ordinary column name, not a prototype", () => {
    const ds = parseJsonDataset('[{"__proto__": 1, "label": 0}, {"__proto__": 2, "label": 1}]');
    expect(E.isRight(ds) && ds.right.featureNames).toEqual(["__proto__"]);
    expect(E.isRight(ds) && Array.from(ds.right.features.data)).toEqual([1, 2]);
  });

  it("loadJson throws with the file name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-json-"));
    const file = path.join(dir, "d.json");
    fs.writeFileSync(file, '[{"x": 1, "y": "a"}, {"x": "1", "y": "b"}]');
    expect(() => loadJson(file)).toThrow(`${file} row 2, column "x": expected a number, got the string "1"`);
    fs.rmSync(dir, { recursive: true });
  });
});
