/**
 * The ResNet and character-Transformer examples on ONNX Runtime vs typegrad: the
 * evaluation graphs (batch norm with running statistics, convolution, pooling, layer norm,
 * causal attention) and the training-mode ResNet (batch statistics and their running
 * updates), exported with their params as initializers, on real digits and real text;
 * f32 within the parity tolerance. And a whole CNN training step with batch-norm state
 * and dropout, run for two steps in ONNX Runtime with its outputs fed back.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { loadMnist } from "../../src/data/builtin.js";
import { params as resnetParams, evaluation, train } from "../../examples/mnist-resnet.js";
import { evalLogits, params as charParams, encode, text, CONTEXT } from "../../examples/char-transformer.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import type { TensorValue } from "../../runtime/value.js";
import { exportTrainStep } from "../../src/deploy.js";
import { stepKeyFor } from "../../src/train/trainer.js";
import { openOrt, runInOrt, runInTypegrad } from "./support.js";

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

  it("a CNN training step with batch-norm state and dropout: two steps in ONNX Runtime match the trainer", async () => {
    const B = tg.sym("batch");
    const x = tg.input("x", [B, 784]);
    const labels = tg.input("labels", [B], "i32");
    const p = { conv: tg.layers.conv2d.init("c", 1, 4, 3, { bias: false }), norm: tg.layers.batchNorm.init("n", 4), head: tg.dense.init("h", 4, 10) };
    const h = tg.layers.batchNorm(p.norm, { training: true })(tg.layers.conv2d(p.conv, { padding: "same", stride: 2 })(tg.reshape(x, [B, 1, 28, 28])));
    const features = tg.dropout(tg.globalAvgPool(tg.relu(h.y)), 0.25, { training: true, key: tg.stepKey(), stream: 1 });
    const loss = tg.softmaxCrossEntropy(tg.dense(p.head)(features), labels);
    const trainer = tg.createTrainer({ loss, params: p, state: h.updates, optimizer: tg.sgd(), learningRate: 0.5 });
    const session = await openOrt(exportTrainStep(trainer.stepGraph));
    const feedback = [...trainer.stepGraph.paramNames.map((n) => [tg.stepOutputs.param(n), n]), ...trainer.stepGraph.stateNames.map((n) => [tg.stepOutputs.state(n), n])];
    const batchOf = (k: number): Record<string, TensorValue> => ({
      x: tg.tensorValue("f32", [8, 784], digits.features.data.subarray(k * 8 * 784, (k + 1) * 8 * 784)),
      labels: tg.tensorValue("i32", [8], digits.targets.kind === "classes" ? digits.targets.indices.subarray(k * 8, (k + 1) * 8) : []),
    });
    let ours = trainer.init(2);
    let theirs: Record<string, TensorValue> = { ...ours.params };
    try {
      for (let k = 0; k < 2; k++) {
        const key = tg.tensorValue("i32", [], [stepKeyFor(ours.rng, ours.step + 1)]);
        const out = await session.run({ ...batchOf(k), ...theirs, "opt.lr": tg.tensorValue("f32", [], [0.5]), "opt.step": tg.tensorValue("f32", [], [k + 1]), [tg.STEP_KEY_INPUT]: key });
        const r = trainer.trainStep(ours, batchOf(k));
        expect(Math.abs(out.loss!.data[0]! - r.loss)).toBeLessThan(1e-5);
        ours = r.state;
        theirs = Object.fromEntries(feedback.map(([output, input]) => [input!, out[output!]!]));
      }
    } finally {
      await session.release();
    }
    for (const name of [...trainer.stepGraph.paramNames, ...trainer.stepGraph.stateNames]) expect(compareValues(theirs[name]!, ours.params[name]!).maxError, name).toBeLessThan(1e-5);
    expect(Array.from(ours.params["n.runningVar"]!.data)).not.toEqual([1, 1, 1, 1]);
  });
});
