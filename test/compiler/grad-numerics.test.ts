/**
 * Numerics users trip on: gradients that must stay finite at logits of ±1000
 * (logSoftmax, logsumexp, softplus, softmax cross-entropy, in f64 and f32), `where`
 * gradients that must not leak NaN from the untaken branch (log, sqrt, div, pow at 0, also
 * second order), and the documented tie rules (max/min split evenly, relu'(0) = abs'(0) = 0).
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { AnyTensor } from "../../src/tensor.js";
import type { FloatDType } from "../../src/ops.js";

type Feeds = Record<string, tg.TensorValue>;

const values = (ts: readonly AnyTensor[], feeds: Feeds): number[][] =>
  tg.evaluateTensors(ts, feeds, { allowExtraFeeds: true }).map((v) => Array.from(v.data));

const gradOf = (loss: AnyTensor, x: AnyTensor, feeds: Feeds): number[] => values([tg.grad(loss, x)], feeds)[0]!;

const softmaxRows = (rows: readonly (readonly number[])[]): number[][] =>
  rows.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });

const expectClose = (actual: readonly number[], expected: readonly number[], tol: number): void => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(Number.isFinite(a), `entry ${i} is ${a}`).toBe(true);
    expect(Math.abs(a - expected[i]!), `entry ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
  });
};

const LOGITS = [
  [1000, -1000, 0],
  [-1000, 1000, 999],
];
const WEIGHTS = [0.5, -1, 2, 1, 0.25, -0.75];

describe.each<FloatDType>(["f64", "f32"])("finite gradients at logits of ±1000 (%s)", (dtype) => {
  const tol = dtype === "f64" ? 1e-12 : 1e-6;
  const z = tg.input("z", [2, 3], dtype);
  const feeds: Feeds = { z: tg.tensorValue(dtype, [2, 3], LOGITS.flat()) };
  const p = softmaxRows(LOGITS);
  const w = tg.constant(WEIGHTS, [2, 3], dtype);

  it("logSoftmax: g - softmax(z) * sum(g)", () => {
    const rowSum = [0, 1].map((r) => WEIGHTS.slice(3 * r, 3 * r + 3).reduce((a, b) => a + b, 0));
    const expected = p.flatMap((row, r) => row.map((pi, j) => WEIGHTS[3 * r + j]! - pi * rowSum[r]!));
    expectClose(gradOf(tg.sum(tg.mul(tg.logSoftmax(z), w)), z, feeds), expected, tol);
  });

  it("logsumexp: softmax(z)", () => {
    expectClose(gradOf(tg.sum(tg.logsumexp(z, -1)), z, feeds), p.flat(), tol);
  });

  it("softplus: sigmoid(z), i.e. 1 at +1000 and 0 at -1000", () => {
    const expected = LOGITS.flat().map((v) => (v === 0 ? 0.5 : v > 0 ? 1 : 0));
    expectClose(gradOf(tg.sum(tg.softplus(z)), z, feeds), expected, tol);
  });

  it("softmax cross-entropy -sum(oneHot * logSoftmax(z)): softmax(z) - oneHot", () => {
    const labels = tg.input("labels", [2], "i32");
    const loss = tg.neg(tg.sum(tg.mul(tg.oneHot(labels, 3, dtype), tg.logSoftmax(z))));
    const withLabels = { ...feeds, labels: tg.tensorValue("i32", [2], [1, 2]) };
    const expected = p.flatMap((row, r) => row.map((pi, j) => pi - (j === [1, 2][r] ? 1 : 0)));
    expectClose(gradOf(loss, z, withLabels), expected, tol);
  });

  it("the library's softmaxCrossEntropy and binaryCrossEntropyWithLogits", () => {
    const labels = tg.input("labels", [2], "i32");
    const ce = tg.softmaxCrossEntropy(z as tg.Tensor<readonly [2, 3], FloatDType>, labels as tg.Tensor<readonly [2], "i32">);
    const withLabels = { ...feeds, labels: tg.tensorValue("i32", [2], [0, 0]) };
    expectClose(gradOf(ce, z, withLabels), p.flatMap((row) => row.map((pi, j) => (pi - (j === 0 ? 1 : 0)) / 2)), tol);
    const bce = tg.binaryCrossEntropyWithLogits(z, tg.constant(1, [2, 3], dtype));
    const sig = LOGITS.flat().map((v) => 1 / (1 + Math.exp(-v)));
    expectClose(gradOf(bce, z, feeds), sig.map((s) => (s - 1) / 6), tol);
  });

  it("second order stays finite too (Hessian-vector product of logsumexp)", () => {
    const v = tg.constant([1, 0, 0, 0, 1, 0], [2, 3], dtype);
    const g = tg.grad(tg.sum(tg.logsumexp(z, -1)), z);
    const hv = values([tg.grad(tg.sum(tg.mul(g, v)), z)], feeds)[0]!;
    // H = diag(p) - p pᵀ per row
    const vv = [[1, 0, 0], [0, 1, 0]];
    const expected = p.flatMap((row, r) => {
      const pv = row.reduce((a, pi, j) => a + pi * vv[r]![j]!, 0);
      return row.map((pi, j) => pi * vv[r]![j]! - pi * pv);
    });
    expectClose(hv, expected, tol);
  });
});

describe("where does not leak NaN from the untaken branch", () => {
  const x = tg.input("x", [4], "f64");
  const feeds: Feeds = { x: tg.tensorValue("f64", [4], [0, -1, 2, 4]) };
  const positive = tg.greater(x, 0);

  const xx = [2, 4];
  const cases = [
    ["log", (t: AnyTensor) => tg.log(t), xx.map((v) => 1 / v), xx.map((v) => -1 / v ** 2)],
    ["sqrt", (t: AnyTensor) => tg.sqrt(t), xx.map((v) => 0.5 / Math.sqrt(v)), xx.map((v) => -0.25 * v ** -1.5)],
    ["div", (t: AnyTensor) => tg.div(1, t), xx.map((v) => -1 / v ** 2), xx.map((v) => 2 / v ** 3)],
    ["pow", (t: AnyTensor) => tg.pow(t, 0.5), xx.map((v) => 0.5 / Math.sqrt(v)), xx.map((v) => -0.25 * v ** -1.5)],
    ["pow exponent", (t: AnyTensor) => tg.pow(t, t), xx.map((v) => v ** v * (Math.log(v) + 1)), xx.map((v) => v ** v * ((Math.log(v) + 1) ** 2 + 1 / v))],
  ] as const;

  it.each(cases)("where(x > 0, %s(x), 0) at x = [0, -1, 2, 4]: first and second derivatives are 0 at 0 and -1", (_name, f, d1, d2) => {
    const g = tg.grad(tg.sum(tg.where(positive, f(x), 0)), x);
    const [first, second] = values([g, tg.grad(tg.sum(g), x)], feeds);
    expectClose(first!, [0, 0, ...d1], 1e-12);
    expectClose(second!, [0, 0, ...d2], 1e-12);
  });

  it("an overflowing untaken branch: where(x < 10, exp(x), 0) at x = 1000 has gradient 0 at every order", () => {
    const big = { x: tg.tensorValue("f64", [4], [1000, 0, 1, 800]) };
    const g1 = tg.grad(tg.sum(tg.where(tg.less(x, 10), tg.exp(x), 0)), x);
    const g2 = tg.grad(tg.sum(g1), x);
    const [first, second] = values([g1, g2], big);
    expect(first).toEqual([0, 1, Math.E, 0]);
    expect(second).toEqual([0, 1, Math.E, 0]);
  });

  it("the untaken branch's cotangent is an exact 0 even for an infinite cotangent", () => {
    const inf = tg.constant([Infinity, Infinity, Infinity, Infinity], [4], "f64");
    const [dx] = tg.vjp(tg.where(positive, tg.log(x), 0), [x], tg.mul(inf, 1));
    expect(values([dx!], feeds)[0]!.slice(0, 2)).toEqual([0, 0]);
  });
});

describe("ties and kinks are handled deterministically", () => {
  const x = tg.input("x", [2, 3], "f64");
  const feeds: Feeds = { x: tg.tensorValue("f64", [2, 3], [1, 1, 0, 2, -3, 2]) };

  it("max over all axes splits the cotangent evenly among ties", () => {
    expect(gradOf(tg.max(x), x, feeds)).toEqual([0, 0, 0, 0.5, 0, 0.5]);
  });

  it("max and min along an axis split per row", () => {
    expect(gradOf(tg.sum(tg.max(x, 1)), x, feeds)).toEqual([0.5, 0.5, 0, 0.5, 0, 0.5]);
    expect(gradOf(tg.sum(tg.min(x, 0)), x, feeds)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it("maximum / minimum of equal operands give each half", () => {
    const y = tg.input("y", [2, 3], "f64");
    const both = { ...feeds, y: tg.tensorValue("f64", [2, 3], [1, 0, 0, 3, -3, 1]) };
    const [dx, dy] = values(tg.grad(tg.sum(tg.maximum(x, y)), [x, y]), both);
    expect(dx).toEqual([0.5, 1, 0.5, 0, 0.5, 1]);
    expect(dy).toEqual([0.5, 0, 0.5, 1, 0.5, 0]);
    const [mx, my] = values(tg.grad(tg.sum(tg.minimum(x, y)), [x, y]), both);
    expect(mx).toEqual([0.5, 0, 0.5, 1, 0.5, 0]);
    expect(my).toEqual([0.5, 1, 0.5, 0, 0.5, 1]);
  });

  it("relu'(0) = abs'(0) = 0; sign, argmax, comparisons, integer casts and stopGradient give exact zeros", () => {
    const z = tg.input("z", [3], "f64");
    const zf: Feeds = { z: tg.tensorValue("f64", [3], [0, -2, 3]) };
    expect(gradOf(tg.sum(tg.relu(z)), z, zf)).toEqual([0, 0, 1]);
    expect(gradOf(tg.sum(tg.abs(z)), z, zf)).toEqual([0, -1, 1]);
    const zeroLosses = [
      tg.sum(tg.sign(z)),
      tg.sum(tg.cast(tg.argmax(z), "f64")),
      tg.sum(tg.cast(tg.greater(z, 0), "f64")),
      tg.sum(tg.cast(tg.cast(z, "i32"), "f64")),
      tg.sum(tg.stopGradient(tg.square(z))),
    ];
    for (const loss of zeroLosses) expect(gradOf(loss, z, zf)).toEqual([0, 0, 0]);
  });
});
