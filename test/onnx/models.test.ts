/**
 * Example models on ONNX Runtime vs typegrad (the reference interpreter and the compiled
 * program): forward outputs of the seed MLP, the Iris MLP 4-16-3 on the real flowers and
 * the MNIST MLP 784-256-256-10 on real digits, as the example files define them (f32,
 * within 1e-5) and rebuilt in f64 (within 1e-10); the largest error per model is printed.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { FloatDType } from "../../src/ops.js";
import { loadIris, loadMnist } from "../../src/data/builtin.js";
import { params as seedParams, model as seedModel, X as seedX } from "../../examples/seed-mlp.js";
import { params as irisParams, logits as irisLogits } from "../../examples/iris.js";
import { params as mnistParams, logits as mnistLogits } from "../../examples/mnist-mlp.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { runInOrt, runInTypegrad } from "./support.js";

const report: string[] = [];

/**
 * Runs `graph` in ONNX Runtime (params as initializers), in the interpreter and as a
 * compiled program; returns the largest error of ONNX Runtime's outputs against either.
 */
const forwardError = async (graph: tg.Graph, feeds: Record<string, TensorValue>, params: tg.ParamValues): Promise<number> => {
  const actual = await runInOrt(graph, feeds, { params });
  const references = [runInTypegrad(graph, { ...feeds, ...params }), tg.compile(graph).runNamed({ ...feeds, ...params })];
  let worst = 0;
  for (const expected of references)
    for (const [name, want] of Object.entries(expected)) {
      expect(actual[name]!.shape, name).toEqual(want.shape);
      worst = Math.max(worst, compareValues(actual[name]!, want).maxError);
    }
  return worst;
};

/** The example's logits with softmax probabilities and predictions as extra outputs. */
const exampleGraph = (name: string, logits: tg.AnyTensor): tg.Graph => tg.buildGraph({ logits, probs: tg.softmax(logits, -1), predicted: tg.argmax(logits, -1) }, name);

/** An MLP of `sizes` with tanh in `dtype`, with the same outputs as `exampleGraph`. */
const mlpGraph = (name: string, sizes: readonly number[], dtype: FloatDType) => {
  const p = tg.mlp.init(name, sizes, { dtype });
  const x = tg.input("x", [tg.sym("batch"), sizes[0]!], dtype);
  return { graph: exampleGraph(name, tg.mlp(p, tg.tanh)(x)), params: p };
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

  it("Iris MLP 4-16-3 (examples/iris.ts) on the 150 flowers", async () => {
    const [values] = tg.initParams(irisParams, 7);
    const iris = loadIris();
    const error = await forwardError(exampleGraph("iris", irisLogits), { x: tensorValue("f32", [iris.features.rows, 4], iris.features.data) }, values);
    report.push(`Iris MLP f32: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });

  it("MNIST MLP 784-256-256-10 (examples/mnist-mlp.ts) on 256 digits", async () => {
    const [values] = tg.initParams(mnistParams, 3);
    const digits = loadMnist({ train: 256, test: 0, seed: 1 }).train;
    const error = await forwardError(exampleGraph("mnist", mnistLogits), { x: tensorValue("f32", [256, 784], digits.features.data) }, values);
    report.push(`MNIST MLP f32: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });

  it("Iris MLP in f64 on the 150 flowers", async () => {
    const { graph, params } = mlpGraph("iris64", [4, 16, 3], "f64");
    const [values] = tg.initParams(params, 7);
    const iris = loadIris();
    const error = await forwardError(graph, { x: tensorValue("f64", [iris.features.rows, 4], iris.features.data) }, values);
    report.push(`Iris MLP f64: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f64);
  });

  it("MNIST MLP 784-256-256-10 in f64 on 256 digits", async () => {
    const { graph, params } = mlpGraph("mnist64", [784, 256, 256, 10], "f64");
    const [values] = tg.initParams(params, 3);
    const digits = loadMnist({ train: 256, test: 0, seed: 1 }).train;
    const error = await forwardError(graph, { x: castValue(tensorValue("f32", [256, 784], digits.features.data), "f64") }, values);
    report.push(`MNIST MLP f64: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f64);
  });

  afterAll(() => console.log(`largest error per model (|a - b| / max(1, |b|)):\n  ${report.join("\n  ")}`));
});
