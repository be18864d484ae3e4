import { describe, expect, it } from "vitest";
import { input } from "../../src/index.js";
import type { AnyTensor, Tensor } from "../../src/tensor.js";
import { binaryCrossEntropyWithLogits, l2Penalty, mae, mse, softmaxCrossEntropy, softmaxCrossEntropyOneHot } from "../../src/train/losses.js";
import { evaluateTensors } from "../../runtime/interpret.js";
import { tensorValue } from "../../runtime/value.js";

const f64 = (shape: number[], values: number[]) => tensorValue("f64", shape, values);
const run = (t: AnyTensor, feeds: Record<string, ReturnType<typeof f64>>): number => evaluateTensors([t], feeds)[0]!.data[0]!;
const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

describe("losses", () => {
  const p = input("p", [2, 2], "f64");
  const t = input("t", [2, 2], "f64");
  const feeds = { p: f64([2, 2], [1, 2, 3, 4]), t: f64([2, 2], [1.5, 2, 2, 6]) };

  it("mse and mae average over all elements", () => {
    expect(run(mse(p, t), feeds)).toBeCloseTo((0.25 + 0 + 1 + 4) / 4, 14);
    expect(run(mae(p, t), feeds)).toBeCloseTo((0.5 + 0 + 1 + 2) / 4, 14);
  });

  it("binary cross-entropy with logits matches the textbook formula and stays finite at ±1000", () => {
    const z = input("z", [4], "f64");
    const y = input("y", [4], "f64");
    const zs = [-2, 0.5, 3, -1];
    const ys = [0, 1, 1, 0.3];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const want = zs.reduce((s, v, i) => s - ys[i]! * Math.log(sig(v)) - (1 - ys[i]!) * Math.log(1 - sig(v)), 0) / 4;
    expect(run(binaryCrossEntropyWithLogits(z, y), { z: f64([4], zs), y: f64([4], ys) })).toBeCloseTo(want, 12);
    const extreme = run(binaryCrossEntropyWithLogits(z, y), { z: f64([4], [1000, -1000, 1000, -1000]), y: f64([4], [1, 0, 0, 1]) });
    expect(extreme).toBeCloseTo((0 + 0 + 1000 + 1000) / 4, 9);
  });

  it("softmax cross-entropy with integer labels equals the one-hot form and -log softmax", () => {
    const logits = input("logits", [2, 3], "f64");
    const labels = input("labels", [2], "i32") as Tensor<readonly [2], "i32">;
    const zs = [1, 2, 3, -1, 0.5, 4];
    const want = ((logSumExp([1, 2, 3]) - 1) + (logSumExp([-1, 0.5, 4]) - 4)) / 2;
    const feeds2 = { logits: f64([2, 3], zs), labels: tensorValue("i32", [2], [0, 2]) };
    expect(run(softmaxCrossEntropy(logits as Tensor<readonly [2, 3], "f64">, labels), feeds2)).toBeCloseTo(want, 12);
    const onehot = input("onehot", [2, 3], "f64");
    expect(run(softmaxCrossEntropyOneHot(logits, onehot), { logits: feeds2.logits, onehot: f64([2, 3], [1, 0, 0, 0, 0, 1]) })).toBeCloseTo(want, 12);
    const big = run(softmaxCrossEntropy(logits as Tensor<readonly [2, 3], "f64">, labels), { logits: f64([2, 3], [1000, -1000, 0, 0, 0, 1000]), labels: feeds2.labels });
    expect(big).toBeCloseTo(0, 9);
  });

  it("l2 penalty is coefficient/2 times the sum of squares", () => {
    const a = input("a", [2], "f64");
    const b = input("b", [1], "f64");
    expect(run(l2Penalty([a, b], 0.1), { a: f64([2], [1, 2]), b: f64([1], [3]) })).toBeCloseTo(0.05 * 14, 14);
    expect(() => l2Penalty([], 1)).toThrow(/no params/);
  });
});
