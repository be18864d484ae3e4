/**
 * Attributions: exact values on a linear model, integrated gradients equal to the
 * explicit Riemann sum of separately computed gradients, completeness within 1% at 64
 * steps on a small tanh network and on the MNIST MLP (trained briefly), the path built as
 * one batched graph, static types and errors.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as tg from "../../src/index.js";
import { explainedOutput, gradientTimesInput, integratedGradients, riemannPoints, saliency } from "../../src/explain/attributions.js";
import { trainMnistMlp, x as mnistX, labels as mnistLabels, logits as mnistLogits } from "../../examples/mnist-mlp.js";
import { makeRunner } from "../../src/train/runner.js";
import { evaluate } from "../../runtime/interpret.js";
import { rngFromSeed, fillUniform } from "../../src/random.js";
import type { TensorValue } from "../../runtime/value.js";

const batch = tg.sym("batch");

/** A small f64 network: x [batch, 3] -> logits [batch, 4]. */
const x = tg.input("x", [batch, 3], "f64");
const labels = tg.input("labels", [batch], "i32");
const W1 = tg.param("W1", [3, 5], "f64");
const b1 = tg.param("b1", [5], "f64");
const W2 = tg.param("W2", [5, 4], "f64");
const logits = tg.matmul(tg.tanh(tg.add(tg.matmul(x, W1), b1)), W2);

const values = (seed: number, shape: readonly number[], lo = -1, hi = 1): TensorValue => {
  const n = shape.reduce((a, b) => a * b, 1);
  const [data] = fillUniform(rngFromSeed(seed), new Float64Array(n), lo, hi);
  return tg.tensorValue("f64", shape, data);
};
const params = { W1: values(1, [3, 5], -1.5, 1.5), b1: values(2, [5]), W2: values(3, [5, 4], -2, 2) };
const xs = values(4, [6, 3], -2, 2);
const ys = tg.tensorValue("i32", [6], [0, 1, 2, 3, 1, 2]);

describe("attributions of a linear model are exact", () => {
  const xl = tg.input("xl", [batch, 3], "f64");
  const w = tg.constant([0.5, -2, 3], [3, 1], "f64");
  const out = tg.matmul(xl, w); // [batch, 1]
  const feeds = { xl: tg.tensorValue("f64", [2, 3], [1, 2, 3, -1, 0, 4]) };
  it.each([1, 5, 64])("saliency = w, gradient x input = x w, integrated gradients = (x - x') w (%d steps)", (steps) => {
    const ig = integratedGradients({ output: out, input: xl }, { steps, baseline: tg.constant([1, 1, 1], [3], "f64") });
    const [s, gxi, a, delta] = evaluate([saliency({ output: out, input: xl }).node, gradientTimesInput({ output: out, input: xl }).node, ig.attributions.node, ig.delta.node], feeds);
    expect(Array.from(s!.data)).toEqual([0.5, -2, 3, 0.5, -2, 3]);
    expect(Array.from(gxi!.data, (v) => v + 0)).toEqual([0.5, -4, 9, -0.5, 0, 12]); // + 0: -0 reads as 0
    expect(Array.from(a!.data)).toEqual([0, -2, 6, -1, 2, 9]);
    expect(delta!.shape).toEqual([2]); // per example
    expect(Array.from(delta!.data).every((d) => Math.abs(d) < 1e-12)).toBe(true);
  });
});

describe("integrated gradients", () => {
  it("equal the explicit Riemann sum of gradients computed separately at each point", () => {
    const steps = 7;
    const baseline = tg.constant([0.2, -0.1, 0.4], [3], "f64");
    const ig = integratedGradients({ output: logits, input: x, target: labels }, { steps, baseline });
    const [got] = evaluate([ig.attributions.node], { ...params, x: xs, labels: ys });
    // The same sum, one gradient evaluation per step in JavaScript.
    const gradient = tg.grad(tg.sum(explainedOutput(logits, labels)), x);
    const { alphas, weights } = riemannPoints(steps, "midpoint");
    const b = [0.2, -0.1, 0.4];
    const want = new Float64Array(18);
    alphas.forEach((alpha, k) => {
      const point = tg.tensorValue("f64", [6, 3], Array.from(xs.data, (v, i) => b[i % 3]! + alpha * (v - b[i % 3]!)));
      const [g] = evaluate([gradient.node], { ...params, x: point, labels: ys });
      g!.data.forEach((v, i) => (want[i] = want[i]! + weights[k]! * v * (xs.data[i]! - b[i % 3]!)));
    });
    Array.from(got!.data).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });

  it("are complete within 1% at 64 steps on a tanh network (second-order rules; first-order ones within 5%)", () => {
    for (const [rule, tolerance] of [["midpoint", 0.01], ["trapezoid", 0.01], ["left", 0.05], ["right", 0.05]] as const) {
      const ig = integratedGradients({ output: logits, input: x, target: labels }, { steps: 64, rule });
      const [delta, fx, fb] = evaluate([ig.delta.node, ig.output.node, ig.baselineOutput.node], { ...params, x: xs, labels: ys });
      expect(delta!.shape).toEqual([6]);
      delta!.data.forEach((d, i) => expect(Math.abs(d), `${rule}, example ${i}`).toBeLessThanOrEqual(tolerance * Math.abs(fx!.data[i]! - fb!.data[i]!)));
    }
  });

  it("hold a target computed from the input (the predicted class) fixed along the path", () => {
    const predicted = tg.argmax(logits, -1);
    const [classes] = evaluate([predicted.node], { ...params, x: xs });
    const fromModel = integratedGradients({ output: logits, input: x, target: predicted }, { steps: 16 });
    const fromFeed = integratedGradients({ output: logits, input: x, target: labels }, { steps: 16 });
    const feeds = { ...params, x: xs, labels: tg.tensorValue("i32", [6], Array.from(classes!.data)) };
    const [a, da, fb] = evaluate([fromModel.attributions.node, fromModel.delta.node, fromModel.baselineOutput.node], { ...params, x: xs });
    const [b, db, fbFeed] = evaluate([fromFeed.attributions.node, fromFeed.delta.node, fromFeed.baselineOutput.node], feeds);
    expect(Array.from(a!.data)).toEqual(Array.from(b!.data));
    expect(Array.from(da!.data)).toEqual(Array.from(db!.data));
    expect(Array.from(fb!.data)).toEqual(Array.from(fbFeed!.data));
  });

  it("build the path as one batched graph: every step in one program, no loop", () => {
    const ig = integratedGradients({ output: logits, input: x, target: 2 }, { steps: 64 });
    const g = tg.buildGraph({ a: ig.attributions }, "ig");
    const pathMatmuls = g.nodes.filter((n) => n.op === tg.Op.MatMul && n.shape[0] === 64);
    expect(pathMatmuls.length).toBeGreaterThanOrEqual(2); // forward and backward through both layers, 64 points at once
    expect(g.nodes.filter((n) => n.op === tg.Op.Input).map((n) => `${n.op === tg.Op.Input ? n.params.name : ""}${JSON.stringify(n.shape)}`)).toEqual(['x["batch",3]']);
  });

  it("are typed like the input", () => {
    const ig = integratedGradients({ output: logits, input: x, target: labels });
    expectTypeOf(ig.attributions).toEqualTypeOf<tg.Tensor<readonly [tg.Sym<"batch">, 3], "f64">>();
    expectTypeOf(saliency({ output: logits, input: x })).toEqualTypeOf<tg.Tensor<readonly [tg.Sym<"batch">, 3], "f64">>();
  });

  it("Riemann weights sum to 1 and the points lie on [0, 1]", () => {
    for (const rule of ["midpoint", "trapezoid", "left", "right"] as const) {
      const { alphas, weights } = riemannPoints(10, rule);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
      expect(alphas.every((a) => a >= 0 && a <= 1)).toBe(true);
    }
  });

  it("reject a non-input, a class outside the output, mistyped targets and bad steps, naming the field", () => {
    expect(() => saliency({ output: logits, input: W1 })).toThrow(/input: must be an input\(\.\.\.\) leaf the output was built from, got param f64\[3,5\]/);
    expect(() => saliency({ output: logits, input: x, target: 4 })).toThrow(/target: class 4 is outside \[0, 4\) of the output \[batch,4\]/);
    expect(() => saliency({ output: logits, input: x, target: tg.input("t", [3], "i32") })).toThrow(/target: per-example targets must be i32\[batch\] for the output \[batch,4\], got i32\[3\]/);
    expect(() => integratedGradients({ output: logits, input: x }, { steps: 0 })).toThrow(/options\.steps: must be a positive integer, got 0/);
  });
});

describe("integrated gradients on the MNIST MLP (trained briefly)", () => {
  it("are complete within 1% at 64 steps for each digit's own class", async () => {
    const { result, data } = await trainMnistMlp({ epochs: 1, train: 1000, test: 16, seed: 2 });
    const ig = integratedGradients({ output: mnistLogits, input: mnistX, target: mnistLabels }, { steps: 64 });
    const runner = makeRunner(tg.buildGraph({ attributions: ig.attributions, delta: ig.delta, fx: ig.output, fb: ig.baselineOutput }, "mnistIg"));
    const out = runner.run({ ...result.state.params, ...tg.supervisedFeeds(mnistX, mnistLabels)(data.test) });
    expect(out.attributions!.shape).toEqual([16, 784]);
    const errors = Array.from(out.delta!.data, (d, i) => Math.abs(d) / Math.abs(out.fx!.data[i]! - out.fb!.data[i]!));
    expect(Math.max(...errors), errors.map((e) => e.toFixed(4)).join(" ")).toBeLessThanOrEqual(0.01);
  });
});
