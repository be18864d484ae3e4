/**
 * Per-example gradients of the MNIST MLP: one batched program against each example's
 * gradient computed on its own, in the interpreter and the compiled program; their mean
 * against the ordinary batch gradient; static types; errors.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as tg from "../../src/index.js";
import { perExampleGradients, vectorize } from "../../src/privacy/perExample.js";
import { params as mnistParams, loss as mnistBatchLoss } from "../../examples/mnist-mlp.js";
import { loadMnist } from "../../src/data/builtin.js";
import { makeRunner } from "../../src/train/runner.js";
import { exampleOf } from "./support.js";
import type { TensorValue } from "../../runtime/value.js";

const maxAbs = (v: TensorValue): number => Array.from(v.data).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxAbsDiff = (a: TensorValue, b: TensorValue): number => Array.from(a.data).reduce((m, x, i) => Math.max(m, Math.abs(x - b.data[i]!)), 0);

/** The MNIST MLP written for one example: x [784], label []. */
const x = tg.input("x", [784]);
const label = tg.input("labels", [], "i32");
const logits = tg.mlp(mnistParams, tg.relu)(tg.reshape(x, [1, 784]));
const loss = tg.softmaxCrossEntropy(logits, tg.reshape(label, [1]));
const paramTensors = tg.collectParams(mnistParams).map((node) => ({ node }) as tg.AnyTensor);

describe("per-example gradients of the MNIST MLP", () => {
  const rows = 6;
  const { train } = loadMnist({ train: rows, test: 0, seed: 3 });
  const [values] = tg.initParams(mnistParams, 7);
  const { losses, grads, inputs } = perExampleGradients(loss, paramTensors);
  const feeds = tg.supervisedFeeds(inputs.x!, inputs.labels!)(train);
  const batchedGraph = tg.buildGraph({ losses, ...Object.fromEntries(grads.map((g, i) => [`g${i}`, g])) }, "perExampleGrads");

  // Each example alone, through the ordinary gradient graph.
  const single = tg.buildGraph({ loss, ...Object.fromEntries(tg.grad(loss, paramTensors).map((g, i) => [`g${i}`, g])) }, "oneExample");
  const oneRunner = makeRunner(single, { executor: "interpret" });
  const separate = Array.from({ length: rows }, (_, r) =>
    oneRunner.run({
      ...values,
      x: tg.tensorValue("f32", [784], train.features.data.subarray(r * 784, (r + 1) * 784)),
      labels: tg.tensorValue("i32", [], [train.targets.kind === "classes" ? train.targets.indices[r]! : 0]),
    }),
  );

  it("have the params' shapes with a leading batch dim and the per-example inputs batched", () => {
    expect(losses.node.shape).toEqual(["batch"]);
    expect(grads.map((g) => g.node.shape)).toEqual(tg.collectParams(mnistParams).map((p) => ["batch", ...p.shape]));
    expect(inputs.x!.node.shape).toEqual(["batch", 784]);
    expect(inputs.labels!.node.shape).toEqual(["batch"]);
  });

  it.each([["interpreter", "interpret"], ["compiled program", "compile"]] as const)("equal each example's own gradient (%s)", (_, executor) => {
    const out = makeRunner(batchedGraph, { executor }).run({ ...values, ...feeds });
    for (let r = 0; r < rows; r++) {
      const one = separate[r]!;
      expect(Math.abs(exampleOf(out.losses!, r).data[0]! - one.loss!.data[0]!)).toBeLessThan(1e-5);
      paramTensors.forEach((_p, i) => {
        const got = exampleOf(out[`g${i}`]!, r);
        const want = one[`g${i}`]!;
        expect(got.shape).toEqual(want.shape);
        // f32, summed in another order: within 1e-5 of the gradient's largest entry.
        expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5 * Math.max(maxAbs(want), 1e-6));
        expect(maxAbs(want)).toBeGreaterThan(0);
      });
    }
  });

  it("average to the gradient of the batch loss", () => {
    const meanGrads = grads.map((g) => tg.mean(g, 0));
    const batchGrads = tg.grad(mnistBatchLoss, paramTensors);
    const out = makeRunner(tg.buildGraph({ ...Object.fromEntries(meanGrads.map((g, i) => [`m${i}`, g])), ...Object.fromEntries(batchGrads.map((g, i) => [`b${i}`, g])) }, "compare"), {
      executor: "interpret",
    }).run({ ...values, ...feeds });
    paramTensors.forEach((_p, i) => expect(maxAbsDiff(out[`m${i}`]!, out[`b${i}`]!)).toBeLessThanOrEqual(1e-5 * maxAbs(out[`b${i}`]!)));
  });
});

describe("vectorize and perExampleGradients: types and errors", () => {
  it("types each result with the leading batch dim", () => {
    const v = tg.input("v", [4], "f64");
    const W = tg.param("W", [4, 3], "f64");
    const y = tg.sum(tg.square(tg.matmul(tg.reshape(v, [1, 4]), W)));
    const { losses, grads } = perExampleGradients(y, { W });
    expectTypeOf(losses).toEqualTypeOf<tg.Tensor<readonly [tg.Sym<"batch">], "f64">>();
    expectTypeOf(grads.W).toEqualTypeOf<tg.Tensor<readonly [tg.Sym<"batch">, 4, 3], "f64">>();
    const h = vectorize({ h: tg.tanh(v) }, { over: [v], batch: 5 });
    expectTypeOf(h.h).toEqualTypeOf<tg.Tensor<readonly [5, 4], "f64">>();
    expect(h.h.node.shape).toEqual([5, 4]);
    expect(grads.W.node.shape).toEqual(["batch", 4, 3]);
  });

  it("rejects a non-scalar loss and non-input `over` tensors, naming the field", () => {
    const v = tg.input("v", [4], "f64");
    const W = tg.param("W", [4], "f64");
    expect(() => perExampleGradients(tg.mul(v, W), [W])).toThrow(/loss: the per-example loss must be a scalar \(one example's loss\), got shape \[4\]/);
    expect(() => vectorize(tg.mul(v, W), { over: [W] })).toThrow(/options\.over\[0\]: must be an input\(\.\.\.\) leaf \(params are shared by all examples\), got param f64\[4\]/);
  });
});
