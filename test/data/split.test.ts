/**
 * Splits and minibatches: determinism per seed, disjoint and complete splits, exact sizes,
 * stratified class proportions, batch coverage and the last-batch policy, and the built-in
 * Iris and MNIST datasets.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classIndicesOf, makeDataset, type Dataset } from "../../src/data/dataset.js";
import { epochBatches, minibatches } from "../../src/data/batches.js";
import { loadIris, loadMnist } from "../../src/data/builtin.js";
import { allocateProportionally, splitDataset } from "../../src/data/split.js";
import { rngFromSeed } from "../../src/random.js";

const labelled = (labels: number[]): Dataset => makeDataset({ features: labels.map((_, i) => [i]), labels, numClasses: Math.max(...labels) + 1 });

const counts = (labels: ArrayLike<number>, k: number): number[] => {
  const c = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]!]!++;
  return c;
};

describe("allocateProportionally", () => {
  it("splits exactly by largest remainder, respecting caps", () => {
    expect(allocateProportionally(10, [1, 1, 1], [9, 9, 9])).toEqual([4, 3, 3]);
    expect(allocateProportionally(5, [50, 30, 20], [50, 30, 20])).toEqual([3, 1, 1]);
    expect(allocateProportionally(3, [1, 1], [1, 5])).toEqual([1, 2]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), (sizes, f) => {
        const n = sizes.reduce((a, b) => a + b, 0);
        const total = Math.round(f * n);
        const parts = allocateProportionally(total, sizes, sizes);
        expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        parts.forEach((p, i) => {
          expect(p).toBeLessThanOrEqual(sizes[i]!);
          expect(Math.abs(p - (n === 0 ? 0 : (total * sizes[i]!) / n))).toBeLessThan(1 + 1e-9);
        });
      }),
    );
  });
});

describe("splitDataset", () => {
  it("is deterministic per seed, disjoint, complete and sized round(fraction * n)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 200 }), fc.integer(), fc.boolean(), (n, seed, stratify) => {
        const ds = labelled(Array.from({ length: n }, (_, i) => (i * 7) % 3));
        const s = splitDataset(ds, { test: 0.2, validation: 0.1, seed, stratify });
        expect(splitDataset(ds, { test: 0.2, validation: 0.1, seed, stratify }).indices).toEqual(s.indices);
        const all = [...s.indices.train, ...s.indices.validation, ...s.indices.test].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(s.test.features.rows).toBe(Math.round(0.2 * n));
        expect(s.validation.features.rows).toBe(Math.round(0.1 * n));
        // Rows carry their data and labels with them.
        s.indices.test.forEach((r, i) => expect(s.test.features.data[i]).toBe(r));
      }),
      { numRuns: 60 },
    );
  });

  it("different seeds give different splits; a given RNG state equals its seed", () => {
    const ds = labelled(Array.from({ length: 100 }, (_, i) => i % 2));
    expect(splitDataset(ds, { seed: 1 }).indices.test).not.toEqual(splitDataset(ds, { seed: 2 }).indices.test);
    expect(splitDataset(ds, { rng: rngFromSeed(5) }).indices).toEqual(splitDataset(ds, { seed: 5 }).indices);
  });

  it("stratified: every split keeps the class proportions (within one row per class)", () => {
    const labels = [...Array(120).fill(0), ...Array(60).fill(1), ...Array(20).fill(2)] as number[];
    const ds = labelled(labels);
    for (const seed of [0, 1, 2]) {
      const s = splitDataset(ds, { test: 0.25, validation: 0.15, seed, stratify: true });
      expect(counts(classIndicesOf(s.test), 3)).toEqual([30, 15, 5]);
      expect(counts(classIndicesOf(s.validation), 3)).toEqual([18, 9, 3]);
      expect(counts(classIndicesOf(s.train), 3)).toEqual([72, 36, 12]);
      // and the classes are interleaved, not grouped
      expect(Array.from(classIndicesOf(s.train).slice(0, 20)).some((k) => k !== 0)).toBe(true);
    }
    const plain = splitDataset(ds, { test: 0.25, seed: 0 });
    expect(counts(classIndicesOf(plain.test), 3)).not.toEqual([30, 15, 5]); // unstratified drifts
  });

  it("rejects bad fractions, empty training sets and stratifying regression targets", () => {
    const ds = labelled([0, 1, 0, 1]);
    expect(() => splitDataset(ds, { test: 1 })).toThrow("dataset: the test fraction must be in [0, 1), got 1");
    expect(() => splitDataset(ds, { test: -0.1 })).toThrow(/test fraction/);
    expect(() => splitDataset(ds, { test: 0.5, validation: 0.5 })).toThrow(/leave no training rows out of 4/);
    const reg = makeDataset({ features: [[1], [2], [3]], labels: [[1], [2], [3]] });
    expect(() => splitDataset(reg, { stratify: true, test: 0.3 })).toThrow(/real-valued targets, not classes/);
  });
});

describe("minibatches", () => {
  it("covers every row exactly once per epoch, deterministic per RNG state", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), fc.integer(), (n, b, seed) => {
        fc.pre(b <= n);
        const plan = epochBatches(n, rngFromSeed(seed), { batchSize: b });
        expect(plan.batches.length).toBe(Math.ceil(n / b));
        expect(plan.batches.slice(0, -1).every((x) => x.length === b)).toBe(true);
        expect(plan.batches.flatMap((x) => Array.from(x)).sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(epochBatches(n, rngFromSeed(seed), { batchSize: b }).batches).toEqual(plan.batches);
      }),
      { numRuns: 60 },
    );
  });

  it("threads the RNG: consecutive epochs differ, and resuming from a saved state repeats them", () => {
    const first = epochBatches(50, rngFromSeed(3), { batchSize: 10 });
    const second = epochBatches(50, first.rng, { batchSize: 10 });
    expect(second.batches).not.toEqual(first.batches);
    expect(epochBatches(50, { ...first.rng }, { batchSize: 10 }).batches).toEqual(second.batches);
  });

  it("drops or keeps the last partial batch; shuffle false keeps order and draws nothing", () => {
    const rng = rngFromSeed(0);
    expect(epochBatches(10, rng, { batchSize: 4, lastBatch: "drop" }).batches.map((b) => b.length)).toEqual([4, 4]);
    expect(epochBatches(10, rng, { batchSize: 4 }).batches.map((b) => b.length)).toEqual([4, 4, 2]);
    const ordered = epochBatches(5, rng, { batchSize: 2, shuffle: false });
    expect(ordered.batches.map((b) => Array.from(b))).toEqual([[0, 1], [2, 3], [4]]);
    expect(ordered.rng).toBe(rng);
  });

  it("rejects a batch larger than the dataset, bad sizes and empty datasets", () => {
    const rng = rngFromSeed(0);
    expect(() => epochBatches(150, rng, { batchSize: 256 }, "iris")).toThrow("iris: the batch size 256 is larger than the dataset (150 rows)");
    expect(() => epochBatches(10, rng, { batchSize: 0 })).toThrow(/positive integer, got 0/);
    expect(() => epochBatches(10, rng, { batchSize: 2.5 })).toThrow(/positive integer, got 2.5/);
    expect(() => epochBatches(0, rng, { batchSize: 1 })).toThrow(/empty/);
  });

  it("gathers features, labels and source rows per batch", () => {
    const ds = labelled([0, 1, 2, 0, 1]);
    const { batches, count } = minibatches(ds, rngFromSeed(1), { batchSize: 2 });
    const list = [...batches];
    expect(count).toBe(3);
    for (const batch of list) {
      batch.sourceRows.forEach((row, i) => {
        expect(batch.features.data[i]).toBe(row - 1);
        expect(classIndicesOf(batch)[i]).toBe(classIndicesOf(ds)[row - 1]);
      });
    }
  });
});

describe("built-in datasets", () => {
  it("Iris: 150 rows, 4 features, 50 per class", () => {
    const iris = loadIris();
    expect(iris.features.rows).toBe(150);
    expect(iris.featureNames).toEqual(["sepal_length", "sepal_width", "petal_length", "petal_width"]);
    expect(counts(classIndicesOf(iris), 3)).toEqual([50, 50, 50]);
    expect(Array.from(iris.features.data.slice(0, 4))).toEqual([5.1, 3.5, 1.4, 0.2]);
  });

  it("MNIST: disjoint deterministic stratified splits, pixels in [0, 1]", () => {
    const a = loadMnist({ train: 800, test: 200, validation: 100, seed: 4 });
    const b = loadMnist({ train: 800, test: 200, validation: 100, seed: 4 });
    expect(Array.from(a.train.sourceRows)).toEqual(Array.from(b.train.sourceRows));
    expect(Buffer.from(a.train.features.data.buffer).equals(Buffer.from(b.train.features.data.buffer))).toBe(true);
    expect(a.train.features.cols).toBe(784);
    expect([a.train.features.rows, a.validation.features.rows, a.test.features.rows]).toEqual([800, 100, 200]);
    const ids = [...a.train.sourceRows, ...a.validation.sourceRows, ...a.test.sourceRows];
    expect(new Set(ids).size).toBe(1100);
    expect(a.test.features.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    const testCounts = counts(classIndicesOf(a.test), 10);
    for (const c of testCounts) {
      expect(c).toBeGreaterThanOrEqual(17);
      expect(c).toBeLessThanOrEqual(23);
    }
    expect(Array.from(loadMnist({ train: 800, test: 200, seed: 5 }).train.sourceRows)).not.toEqual(Array.from(a.train.sourceRows));
  });

  it("MNIST: the default 8000/2000 split uses all 10,000 digits; asking for more is an error", () => {
    const { train, test } = loadMnist();
    expect(train.features.rows + test.features.rows).toBe(10_000);
    expect(new Set([...train.sourceRows, ...test.sourceRows]).size).toBe(10_000);
    expect(() => loadMnist({ train: 9000, test: 2000 })).toThrow("mnist: asked for 11000 digits (train 9000 + validation 0 + test 2000), the package has 10000");
    expect(() => loadMnist({ train: 0 })).toThrow(/at least 1/);
  });
});
