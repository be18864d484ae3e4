/**
 * Example models on ONNX Runtime vs typegrad: forward outputs of the seed MLP, an Iris
 * MLP 4-16-3 on the real flowers and an MNIST MLP 784-256-256-10 on real digits, in f32
 * (within 1e-5) and f64 (within 1e-10); the largest error per model is printed.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { FloatDType } from "../../src/ops.js";
import { loadIris, loadMnist } from "../../src/data/builtin.js";
import { params as seedParams, model as seedModel, X as seedX } from "../../examples/seed-mlp.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { runInOrt, runInTypegrad } from "./support.js";

const report: string[] = [];

/** Runs `graph` in both engines with the params as initializers; returns the largest output error. */
const forwardError = async (graph: tg.Graph, feeds: Record<string, TensorValue>, params: tg.ParamValues): Promise<number> => {
  const [actual, expected] = [await runInOrt(graph, feeds, { params }), runInTypegrad(graph, { ...feeds, ...params })];
  let worst = 0;
  for (const [name, want] of Object.entries(expected)) {
    expect(actual[name]!.shape, name).toEqual(want.shape);
    worst = Math.max(worst, compareValues(actual[name]!, want).maxError);
  }
  return worst;
};

/** An MLP of `sizes` with tanh, exported with logits and softmax probabilities as outputs. */
const mlpGraph = (name: string, sizes: readonly number[], dtype: FloatDType) => {
  const p = tg.mlp.init(name, sizes, { dtype });
  const x = tg.input("x", [tg.sym("batch"), sizes[0]!], dtype);
  const logits = tg.mlp(p, tg.tanh)(x);
  return { graph: tg.buildGraph({ logits, probs: tg.softmax(logits, -1), predicted: tg.argmax(logits, -1) }, name), params: p };
};

const castValue = (v: TensorValue, dtype: FloatDType): TensorValue => tensorValue(dtype, v.shape, v.data);

describe("forward parity of the example models", () => {
  it("seed MLP 2-4-1 (examples/seed-mlp.ts)", async () => {
    const x = tg.input("x", [tg.sym("batch"), 2], "f32");
    const graph = tg.buildGraph({ y: seedModel(x) }, "seedMlp");
    const [values] = tg.initParams(seedParams, 1);
    const error = await forwardError(graph, { x: seedX }, values);
    report.push(`seed MLP f32: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });

  for (const dtype of ["f32", "f64"] as const) {
    it(`Iris MLP 4-16-3 on the 150 flowers (${dtype})`, async () => {
      const { graph, params } = mlpGraph("iris", [4, 16, 3], dtype);
      const [values] = tg.initParams(params, 7);
      const iris = loadIris();
      const error = await forwardError(graph, { x: tensorValue(dtype, [iris.features.rows, 4], iris.features.data) }, values);
      report.push(`Iris MLP ${dtype}: ${error.toExponential(2)}`);
      expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE[dtype]);
    });

    it(`MNIST MLP 784-256-256-10 on 256 digits (${dtype})`, async () => {
      const { graph, params } = mlpGraph("mnist", [784, 256, 256, 10], dtype);
      const [values] = tg.initParams(params, 3);
      const digits = loadMnist({ train: 256, test: 0, seed: 1 }).train;
      const x = castValue(tensorValue("f32", [256, 784], digits.features.data), dtype);
      const error = await forwardError(graph, { x }, values);
      report.push(`MNIST MLP ${dtype}: ${error.toExponential(2)}`);
      expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE[dtype]);
    });
  }

  afterAll(() => console.log(`largest error per model (|a - b| / max(1, |b|)):\n  ${report.join("\n  ")}`));
});
