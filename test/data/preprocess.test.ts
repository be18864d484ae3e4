/**
 * Preprocessing: scalers fitted on the training split only (and never on the data they are
 * applied to), serializable statistics, one-hot encoding, non-finite reports and dropping.
 */
import * as E from "fp-ts/lib/Either.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeDataset, selectRows, DataError, type Dataset } from "../../src/data/dataset.js";
import { parseCsv } from "../../src/data/csv.js";
import {
  applyScaler,
  decodeScalerStats,
  dropNonFiniteRows,
  findNonFinite,
  fitMinMax,
  fitStandardizer,
  formatNonFinite,
  oneHotEncode,
  scaleSplits,
} from "../../src/data/preprocess.js";
import { splitDataset } from "../../src/data/split.js";

const data = (rows: number[][], labels: number[] = rows.map(() => 0)): Dataset => makeDataset({ features: rows, labels, featureNames: rows[0]!.map((_, c) => `f${c}`) });

describe("scalers", () => {
  it("standardize: hand-computed mean and population std; constant columns map to 0", () => {
    const train = data([[1, 5], [3, 5], [5, 5]]);
    const stats = fitStandardizer(train);
    expect(stats).toEqual({ kind: "standardize", columns: ["f0", "f1"], mean: [3, 5], std: [Math.sqrt(8 / 3), 0] });
    const out = applyScaler(stats, train);
    expect(Array.from(out.features.data)).toEqual([-2 / Math.sqrt(8 / 3), 0, 0, 0, 2 / Math.sqrt(8 / 3), 0]);
    expect(Array.from(train.features.data)).toEqual([1, 5, 3, 5, 5, 5]); // input untouched
  });

  it("min-max: maps the training range to [low, high]; test values outside stay outside", () => {
    const stats = fitMinMax(data([[0, 2], [10, 2]]), [-1, 1]);
    const out = applyScaler(stats, data([[5, 2], [20, 3]]));
    expect(Array.from(out.features.data)).toEqual([0, -1, 3, -1]);
    expect(() => fitMinMax(data([[1]]), [1, 1])).toThrow(/low < high/);
  });

  it("fitted on train only: test statistics never leak into the transform", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 2 }), { minLength: 10, maxLength: 40 }), fc.integer(), (rows, seed) => {
        const ds = data(rows);
        const splits = splitDataset(ds, { test: 0.3, seed });
        const scaled = scaleSplits(splits, "standardize");
        expect(scaled.stats).toEqual(fitStandardizer(splits.train));
        // Changing the test data changes nothing in how the training data is scaled.
        const otherTest = { ...splits, test: selectRows(splits.train, [0]) };
        expect(scaleSplits(otherTest, "standardize").train).toEqual(scaled.train);
        // The test split is transformed with the training statistics, row by row.
        const expected = applyScaler(fitStandardizer(splits.train), splits.test);
        expect(scaled.test.features.data).toEqual(expected.features.data);
      }),
      { numRuns: 30 },
    );
  });

  it("a standardized training split has mean 0 and std 1 per non-constant column", () => {
    const ds = data(Array.from({ length: 50 }, (_, i) => [i * 0.37 - 3, (i % 7) * 100]));
    const out = applyScaler(fitStandardizer(ds), ds);
    for (let c = 0; c < 2; c++) {
      const col = Array.from({ length: 50 }, (_, r) => out.features.data[r * 2 + c]!);
      const mean = col.reduce((a, b) => a + b) / 50;
      expect(Math.abs(mean)).toBeLessThan(1e-12);
      expect(Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 50)).toBeCloseTo(1, 12);
    }
  });

  it("keeps float32 datasets float32", () => {
    const ds = makeDataset({ features: { rows: 2, cols: 1, data: new Float32Array([1, 3]) }, labels: [0, 1] });
    const out = applyScaler(fitStandardizer(ds), ds);
    expect(out.features.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.features.data)).toEqual([-1, 1]);
  });

  it("refuses to fit on non-finite values, naming row and column, and mismatched columns on apply", () => {
    const csv = parseCsv("a,b,y\n1,2,0\n3,,1\n", { missing: "nan", source: "d.csv" });
    if (E.isLeft(csv)) throw csv.left;
    expect(() => fitStandardizer(csv.right)).toThrow('d.csv row 3, column "b": cannot fit the standardizer: value NaN');
    const stats = fitStandardizer(data([[1, 2]]));
    expect(() => applyScaler(stats, data([[1, 2, 3]]))).toThrow(/fitted on columns \[f0, f1\] but the dataset has \[f0, f1, f2\]/);
  });

  it("statistics survive JSON and are validated when read back", () => {
    const stats = fitMinMax(data([[1, 2], [3, 4]]));
    const back = decodeScalerStats(JSON.parse(JSON.stringify(stats)));
    expect(E.isRight(back) && back.right).toEqual(stats);
    const bad = (json: unknown): string => {
      const r = decodeScalerStats(json);
      return E.isLeft(r) ? r.left.message : "accepted";
    };
    expect(bad({ kind: "standardize", columns: ["a"], mean: ["0"], std: [1] })).toMatch(/\$\.mean\[0\]/);
    expect(bad({ kind: "standardize", columns: ["a", "b"], mean: [0], std: [1] })).toMatch(/2 columns but statistics of length 1 and 1/);
    expect(bad({ kind: "zscore" })).toMatch(/invalid statistics/);
  });
});

describe("oneHotEncode", () => {
  it("encodes class indices row-major", () => {
    expect(Array.from(oneHotEncode([2, 0, 1], 3))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(oneHotEncode(Int32Array.from([0]), 2, "f64")).toBeInstanceOf(Float64Array);
  });
  it("rejects labels out of range", () => {
    expect(() => oneHotEncode([0, 3], 3)).toThrow("oneHotEncode: label 3 at position 1 is out of range [0, 3)");
    expect(() => oneHotEncode([0], 0)).toThrow(/positive integer/);
  });
});

describe("non-finite values", () => {
  const csv = parseCsv("a,b,y\n1,2,0\n\n3,,1\n4,inf,0\n5,6,1\n", { missing: "nan", source: "m.csv" });
  if (E.isLeft(csv)) throw csv.left;
  const ds = csv.right;

  it("reports every missing or infinite value with its file row and column", () => {
    const found = findNonFinite(ds);
    expect(found).toEqual([
      { row: 4, index: 1, column: "b", value: NaN },
      { row: 5, index: 2, column: "b", value: Infinity },
    ]);
    expect(formatNonFinite(ds.source, found)).toBe('m.csv row 4, column "b": missing (NaN)\nm.csv row 5, column "b": Infinity');
  });

  it("drops those rows and keeps the rest with their source rows", () => {
    const { dataset, dropped } = dropNonFiniteRows(ds);
    expect(dropped.map((d) => d.row)).toEqual([4, 5]);
    expect(Array.from(dataset.features.data)).toEqual([1, 2, 5, 6]);
    expect(Array.from(dataset.sourceRows)).toEqual([2, 6]);
    expect(dataset.targets.kind === "classes" && Array.from(dataset.targets.indices)).toEqual([0, 1]);
  });

  it("checks regression targets too", () => {
    const reg = makeDataset({ features: [[1], [2]], labels: [[0.5], [NaN]] });
    expect(findNonFinite(reg)).toEqual([{ row: 2, index: 1, column: "y0", value: NaN }]);
  });
});

describe("makeDataset", () => {
  it("validates shapes and labels", () => {
    expect(() => makeDataset({ features: [[1, 2], [3]], labels: [0, 1] })).toThrow("dataset row 2: features: row has 1 values, the first row has 2");
    expect(() => makeDataset({ features: [[1], [2]], labels: [0] })).toThrow(/1 labels for 2 feature rows/);
    expect(() => makeDataset({ features: [[1], [2]], labels: [0, 2], numClasses: 2 })).toThrow("dataset row 2: label 2 is not a class index in [0, 2)");
    expect(() => makeDataset({ features: [], labels: [] })).toThrow(/no rows/);
    expect(() => selectRows(data([[1]]), [1])).toThrow(/index 1 is outside \[0, 1\)/);
    expect(() => makeDataset({ features: [[1]], labels: [0.5] })).toThrow(DataError);
  });
});
