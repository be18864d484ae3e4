/**
 * Classification metrics over plain arrays: predictions from scores, accuracy, the
 * confusion matrix, per-class precision / recall / F1 with macro and weighted averages,
 * and text renderings for logs.
 *
 * Takes class indices (or row-major scores); guarantees exact counts and, where a ratio
 * has a zero denominator (a class never predicted or absent), the value 0, as
 * scikit-learn does by default. Lengths and class indices are checked.
 */
import { dataFail } from "../data/dataset.js";

const checkLabels = (what: string, values: ArrayLike<number>, numClasses: number): void => {
  for (let i = 0; i < values.length; i++) {
    const k = values[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= numClasses) dataFail("metrics", `${what}[${i}] = ${k} is not a class index in [0, ${numClasses})`);
  }
};

const checkLengths = (predicted: ArrayLike<number>, labels: ArrayLike<number>): void => {
  if (predicted.length !== labels.length) dataFail("metrics", `${predicted.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) dataFail("metrics", "no examples to score");
};

/**
 * The index of the largest score in each row of a row-major `[rows, cols]` matrix (the
 * first one on ties; NaN never wins over a number).
 *
 * @example
 * argmaxRows([0.1, 0.7, 0.2, 0.5, 0.4, 0.1], 2, 3) // Int32Array [1, 0]
 */
export const argmaxRows = (scores: ArrayLike<number>, rows: number, cols: number): Int32Array => {
  if (scores.length !== rows * cols || cols < 1) dataFail("metrics", `argmaxRows: ${scores.length} scores for a [${rows}, ${cols}] matrix`);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < cols; c++) {
      const s = scores[r * cols + c]!;
      if (s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    out[r] = best;
  }
  return out;
};

/**
 * The fraction of predictions equal to the labels.
 *
 * @example
 * accuracy([0, 1, 1, 2], [0, 1, 2, 2]) // 0.75
 */
export const accuracy = (predicted: ArrayLike<number>, labels: ArrayLike<number>): number => {
  checkLengths(predicted, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
};

/** Counts by (actual, predicted) class: `counts[actual * numClasses + predicted]`. */
export interface ConfusionMatrix {
  readonly numClasses: number;
  readonly counts: Int32Array;
}

/**
 * The confusion matrix of predictions against labels.
 *
 * @example
 * const cm = confusionMatrix([0, 1, 1], [0, 1, 0], 2); // counts [1, 1, 0, 1]: one 0 mistaken for 1
 */
export const confusionMatrix = (predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): ConfusionMatrix => {
  if (!Number.isInteger(numClasses) || numClasses < 1) dataFail("metrics", `numClasses must be a positive integer, got ${numClasses}`);
  checkLengths(predicted, labels);
  checkLabels("predicted", predicted, numClasses);
  checkLabels("labels", labels, numClasses);
  const counts = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]! * numClasses + predicted[i]!]!++;
  return { numClasses, counts };
};

export interface ClassScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Examples of this class (row sum). */
  readonly support: number;
}

export interface ClassificationReport {
  readonly perClass: readonly ClassScores[];
  readonly accuracy: number;
  /** Unweighted mean over classes. */
  readonly macro: Omit<ClassScores, "support">;
  /** Mean weighted by support. */
  readonly weighted: Omit<ClassScores, "support">;
  readonly total: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Per-class precision, recall and F1, accuracy, and their macro and weighted averages.
 *
 * @example
 * const report = classificationReport(confusionMatrix(predicted, labels, 10));
 * console.log(report.perClass[3]!.recall);
 */
export const classificationReport = (cm: ConfusionMatrix): ClassificationReport => {
  const k = cm.numClasses;
  const at = (actual: number, predicted: number): number => cm.counts[actual * k + predicted]!;
  let total = 0;
  let correct = 0;
  const perClass = Array.from({ length: k }, (_, c) => {
    let support = 0;
    let predictedAs = 0;
    for (let j = 0; j < k; j++) {
      support += at(c, j);
      predictedAs += at(j, c);
    }
    total += support;
    correct += at(c, c);
    const precision = ratio(at(c, c), predictedAs);
    const recall = ratio(at(c, c), support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const mean = (f: (s: ClassScores) => number, weighted: boolean): number =>
    weighted ? ratio(perClass.reduce((a, s) => a + f(s) * s.support, 0), total) : perClass.reduce((a, s) => a + f(s), 0) / k;
  const average = (weighted: boolean): Omit<ClassScores, "support"> => ({
    precision: mean((s) => s.precision, weighted),
    recall: mean((s) => s.recall, weighted),
    f1: mean((s) => s.f1, weighted),
  });
  return { perClass, accuracy: ratio(correct, total), macro: average(false), weighted: average(true), total };
};

const namesFor = (k: number, classNames: readonly string[] | undefined): string[] => {
  if (classNames !== undefined && classNames.length !== k) dataFail("metrics", `${classNames.length} class names for ${k} classes`);
  return classNames === undefined ? Array.from({ length: k }, (_, c) => String(c)) : [...classNames];
};

const table = (rows: readonly (readonly string[])[]): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd()).join("\n");
};

/**
 * The confusion matrix as text: one row per actual class, one column per predicted class,
 * with each row's recall and each column's precision.
 *
 * @example
 * console.log(formatConfusionMatrix(cm, ["setosa", "versicolor", "virginica"]));
 * // actual \ predicted  setosa  versicolor  virginica  recall
 * // setosa                  10           0          0   1.000
 * // ...
 */
export const formatConfusionMatrix = (cm: ConfusionMatrix, classNames?: readonly string[]): string => {
  const k = cm.numClasses;
  const names = namesFor(k, classNames);
  const report = classificationReport(cm);
  const rows: string[][] = [["actual \\ predicted", ...names, "recall"]];
  for (let a = 0; a < k; a++) {
    rows.push([names[a]!, ...Array.from({ length: k }, (_, p) => String(cm.counts[a * k + p])), report.perClass[a]!.recall.toFixed(3)]);
  }
  rows.push(["precision", ...report.perClass.map((s) => s.precision.toFixed(3)), ""]);
  return `${table(rows)}\naccuracy ${report.accuracy.toFixed(4)} (${Math.round(report.accuracy * report.total)}/${report.total})`;
};

/**
 * Per-class precision, recall, F1 and support as text, with the averages.
 *
 * @example
 * console.log(formatClassificationReport(classificationReport(cm), ["cat", "dog"]));
 */
export const formatClassificationReport = (report: ClassificationReport, classNames?: readonly string[]): string => {
  const names = namesFor(report.perClass.length, classNames);
  const rows: string[][] = [["class", "precision", "recall", "f1", "support"]];
  report.perClass.forEach((s, c) => rows.push([names[c]!, s.precision.toFixed(3), s.recall.toFixed(3), s.f1.toFixed(3), String(s.support)]));
  rows.push(["macro avg", report.macro.precision.toFixed(3), report.macro.recall.toFixed(3), report.macro.f1.toFixed(3), String(report.total)]);
  rows.push(["weighted avg", report.weighted.precision.toFixed(3), report.weighted.recall.toFixed(3), report.weighted.f1.toFixed(3), String(report.total)]);
  return `${table(rows)}\naccuracy ${report.accuracy.toFixed(4)}`;
};
