/**
 * The ResNet and character-Transformer examples on ONNX Runtime vs typegrad: the
 * evaluation graphs (batch norm with running statistics, convolution, pooling, layer norm,
 * causal attention) and the training-mode ResNet (batch statistics and their running
 * updates), exported with their params as initializers, on real digits and real text;
 * f32 within the parity tolerance.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { loadMnist } from "../../src/data/builtin.js";
import { params as resnetParams, evaluation, train } from "../../examples/mnist-resnet.js";
import { evalLogits, params as charParams, encode, text, CONTEXT } from "../../examples/char-transformer.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import type { TensorValue } from "../../runtime/value.js";
import { runInOrt, runInTypegrad } from "./support.js";

const largestError = async (graph: tg.Graph, feeds: Record<string, TensorValue>, params: tg.ParamValues): Promise<number> => {
  const actual = await runInOrt(graph, feeds, { params });
  const expected = runInTypegrad(graph, { ...feeds, ...params });
  let worst = 0;
  for (const [name, want] of Object.entries(expected)) {
    expect(actual[name]!.shape, name).toEqual(want.shape);
    worst = Math.max(worst, compareValues(actual[name]!, want).maxError);
  }
  return worst;
};

describe("ONNX parity of the CNN and Transformer examples", () => {
  const digits = loadMnist({ train: 16, test: 16, validation: 0, seed: 3 }).test;
  const images: Record<string, TensorValue> = { x: tg.tensorValue("f32", [16, 784], digits.features.data) };

  it("ResNet evaluation graph (running statistics)", async () => {
    const [values] = tg.initParams(resnetParams, 5);
    const stats = { ...values, "stemNorm.runningMean": tg.tensorValue("f32", [16], Array.from({ length: 16 }, (_, i) => i / 40)) };
    const error = await largestError(tg.buildGraph({ logits: evaluation.logits }, "resnetEval"), images, stats);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });

  it("ResNet training-mode forward pass with its running-statistics updates", async () => {
    const [values] = tg.initParams(resnetParams, 6);
    const outputs = Object.fromEntries([["logits", train.logits], ...train.updates.map((u, i) => [`next${i}`, u.next] as const)]);
    const error = await largestError(tg.buildGraph(outputs, "resnetTrain"), images, values);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });

  it("character Transformer evaluation graph on real text", async () => {
    const [values] = tg.initParams(charParams, 9);
    const ids = encode(text.slice(1000, 1000 + 4 * CONTEXT));
    const error = await largestError(tg.buildGraph({ logits: evalLogits }, "charEval"), { tokens: tg.tensorValue("i32", [4, CONTEXT], ids) }, values);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE.f32);
  });
});
