/**
 * Metrics on hand-computed examples: argmax, accuracy, confusion matrix, per-class
 * precision/recall/F1 with macro and weighted averages, zero-division cases, text output.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accuracy, argmaxRows, classificationReport, confusionMatrix, formatClassificationReport, formatConfusionMatrix } from "../../src/train/metrics.js";

// Worked example: rows are actual classes, columns predicted classes.
//            pred 0  pred 1  pred 2
// actual 0      2       1       0
// actual 1      0       1       1
// actual 2      1       0       4
const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
const predicted = [0, 0, 1, 1, 2, 2, 2, 2, 0, 2];

describe("metrics", () => {
  it("argmaxRows picks the first maximum and ignores NaN", () => {
    expect(Array.from(argmaxRows([0.1, 0.7, 0.2, 0.5, 0.5, 0.1, NaN, -1, -2], 3, 3))).toEqual([1, 0, 1]);
    expect(() => argmaxRows([1, 2, 3], 2, 2)).toThrow("metrics: argmaxRows: 3 scores for a [2, 2] matrix");
  });

  it("accuracy", () => {
    expect(accuracy(predicted, labels)).toBe(0.7);
    expect(() => accuracy([1], [1, 2])).toThrow("metrics: 1 predictions for 2 labels");
    expect(() => accuracy([], [])).toThrow(/no examples/);
  });

  it("confusion matrix counts (actual, predicted) pairs", () => {
    const cm = confusionMatrix(predicted, labels, 3);
    expect(Array.from(cm.counts)).toEqual([2, 1, 0, 0, 1, 1, 1, 0, 4]);
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow("metrics: predicted[1] = 3 is not a class index in [0, 3)");
    expect(() => confusionMatrix([0, 1], [0, -1], 3)).toThrow(/labels\[1\] = -1/);
  });

  it("precision, recall, F1 and averages match the hand computation", () => {
    const r = classificationReport(confusionMatrix(predicted, labels, 3));
    expect(r.accuracy).toBe(0.7);
    expect(r.total).toBe(10);
    const close = (a: number, b: number): void => expect(a).toBeCloseTo(b, 12);
    [
      [2 / 3, 2 / 3, 2 / 3, 3],
      [1 / 2, 1 / 2, 1 / 2, 2],
      [4 / 5, 4 / 5, 4 / 5, 5],
    ].forEach(([p, rc, f, s], c) => {
      close(r.perClass[c]!.precision, p!);
      close(r.perClass[c]!.recall, rc!);
      close(r.perClass[c]!.f1, f!);
      expect(r.perClass[c]!.support).toBe(s);
    });
    close(r.macro.precision, (2 / 3 + 1 / 2 + 4 / 5) / 3);
    close(r.weighted.precision, 0.7);
    close(r.weighted.recall, 0.7); // weighted recall always equals accuracy
  });

  it("a class never predicted or never present scores 0, not NaN", () => {
    const r = classificationReport(confusionMatrix([0, 0, 1], [0, 1, 1], 3));
    expect(r.perClass[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.perClass[1]).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
  });

  it("weighted recall equals accuracy and the counts sum to the examples (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 80 }), (pairs) => {
        const p = pairs.map(([a]) => a);
        const l = pairs.map(([, b]) => b);
        const cm = confusionMatrix(p, l, 5);
        expect(cm.counts.reduce((a, b) => a + b, 0)).toBe(pairs.length);
        const r = classificationReport(cm);
        expect(r.weighted.recall).toBeCloseTo(accuracy(p, l), 12);
        expect(r.accuracy).toBe(accuracy(p, l));
      }),
    );
  });

  it("renders the confusion matrix and the report as aligned text", () => {
    const cm = confusionMatrix(predicted, labels, 3);
    expect(formatConfusionMatrix(cm, ["cat", "dog", "bird"])).toBe(
      [
        "actual \\ predicted    cat    dog   bird  recall",
        "cat                     2      1      0   0.667",
        "dog                     0      1      1   0.500",
        "bird                    1      0      4   0.800",
        "precision           0.667  0.500  0.800",
        "accuracy 0.7000 (7/10)",
      ].join("\n"),
    );
    expect(formatClassificationReport(classificationReport(cm))).toBe(
      [
        "class         precision  recall     f1  support",
        "0                 0.667   0.667  0.667        3",
        "1                 0.500   0.500  0.500        2",
        "2                 0.800   0.800  0.800        5",
        "macro avg         0.656   0.656  0.656       10",
        "weighted avg      0.700   0.700  0.700       10",
        "accuracy 0.7000",
      ].join("\n"),
    );
    expect(() => formatConfusionMatrix(cm, ["a"])).toThrow("metrics: 1 class names for 3 classes");
  });
});
