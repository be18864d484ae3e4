/**
 * Whole training steps on ONNX Runtime: the MNIST MLP 784-256-256-10 step model (loss,
 * gradients and SGD / Adam update in one graph), run for ten steps in ONNX Runtime by
 * feeding each step's params and optimizer state back, gives the params of ten steps of
 * `createTrainer` in typegrad within float32 tolerance. Also: the exported step's
 * interface (inputs, outputs, feedback metadata) and params as initializers.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { loadMnist } from "../../src/data/builtin.js";
import { exportTrainStep } from "../../src/deploy.js";
import { compareValues } from "../../compiler/onnx/parity.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { openOrt } from "./support.js";
import { decodeModel } from "./decode.js";

const BATCH = 64;
const STEPS = 10;
const report: string[] = [];

const batch = tg.sym("batch");
const x = tg.input("x", [batch, 784], "f32");
const labels = tg.input("labels", [batch], "i32");
const params = tg.mlp.init("mnist", [784, 256, 256, 10]);
const logits = tg.mlp(params, tg.tanh)(x) as tg.Tensor<readonly [typeof batch, 10], "f32">;
const loss = tg.softmaxCrossEntropy(logits, labels);

const digits = loadMnist({ train: BATCH * STEPS, test: 0, seed: 2 }).train;
const batchAt = (k: number): Record<string, TensorValue> => ({
  x: tensorValue("f32", [BATCH, 784], digits.features.data.subarray(k * BATCH * 784, (k + 1) * BATCH * 784)),
  labels: tensorValue("i32", [BATCH], digits.targets.kind === "classes" ? digits.targets.indices.subarray(k * BATCH, (k + 1) * BATCH) : []),
});
const scalar = (v: number): TensorValue => tensorValue("f32", [], [v]);

/** Largest error over all params of two param records. */
const paramsError = (a: tg.ParamValues, b: tg.ParamValues): number => Math.max(...Object.keys(b).map((k) => compareValues(a[k]!, b[k]!).maxError));

describe("ten MNIST MLP training steps in ONNX Runtime", () => {
  for (const [name, optimizer, lr] of [["SGD", tg.sgd(), 0.1], ["Adam", tg.adam(), 1e-3]] as const) {
    it(`${name}: params after ten steps match typegrad's trainer`, async () => {
      const trainer = tg.createTrainer({ loss, params, optimizer, learningRate: lr, metrics: { logits } });
      const start = trainer.init(5);
      const session = await openOrt(exportTrainStep(trainer.stepGraph));
      let ours = start;
      let theirs: Record<string, TensorValue> = { ...start.params, ...start.optimizer };
      const losses: [number, number][] = [];
      // Smallest |gradient| each element saw (Adam: recovered from m_k = 0.9 m_(k-1) + 0.1 g_k).
      const smallestGradient = Object.fromEntries(trainer.stepGraph.paramNames.map((p) => [p, new Float64Array(start.params[p]!.data.length).fill(Infinity)]));
      try {
        for (let k = 0; k < STEPS; k++) {
          const r = trainer.trainStep(ours, batchAt(k));
          if (name === "Adam")
            for (const p of trainer.stepGraph.paramNames) {
              const [before, after] = [ours.optimizer[`opt.m.${p}`]!.data, r.state.optimizer[`opt.m.${p}`]!.data];
              const smallest = smallestGradient[p]!;
              for (let i = 0; i < smallest.length; i++) smallest[i] = Math.min(smallest[i]!, Math.abs((after[i]! - 0.9 * before[i]!) / 0.1));
            }
          ours = r.state;
          const out = await session.run({ ...batchAt(k), ...theirs, "opt.lr": scalar(lr), "opt.step": scalar(k + 1) });
          losses.push([out.loss!.data[0]!, r.loss]);
          theirs = {
            ...Object.fromEntries(trainer.stepGraph.paramNames.map((p) => [p, out[tg.stepOutputs.param(p)]!])),
            ...Object.fromEntries(trainer.stepGraph.stateLeaves.map((s) => [s.input, out[tg.stepOutputs.state(s.input)]!])),
          };
        }
      } finally {
        await session.release();
      }
      const error = paramsError(theirs, ours.params);
      const stateError = Math.max(0, ...Object.keys(ours.optimizer).map((k) => compareValues(theirs[k]!, ours.optimizer[k]!).maxError));
      const lossError = Math.max(...losses.map(([a, b]) => Math.abs(a - b) / Math.max(1, Math.abs(b))));
      report.push(`${name}: params ${error.toExponential(2)}, optimizer state ${stateError.toExponential(2)}, loss ${lossError.toExponential(2)} (loss ${losses[0]![1].toFixed(4)} -> ${losses[STEPS - 1]![1].toFixed(4)})`);
      expect(losses[STEPS - 1]![1]).toBeLessThan(losses[0]![1]); // it trains
      // Adam's update lr·ĝ/(|ĝ| + ε) is ill-conditioned where a gradient is at the ε = 1e-8
      // scale: there float32 rounding in the engines' matmuls (a few 1e-10 on a gradient of
      // 1e-8) moves the update by a visible fraction of lr. Such elements may differ by up to
      // 10% of one step; every other element must agree within 1e-5.
      const beyond: { param: string; index: number; error: number }[] = [];
      for (const p of trainer.stepGraph.paramNames)
        ours.params[p]!.data.forEach((v, i) => {
          const e = Math.abs(theirs[p]!.data[i]! - v) / Math.max(1, Math.abs(v));
          if (e > 1e-5) beyond.push({ param: p, index: i, error: e });
        });
      if (name === "SGD") expect(beyond).toEqual([]);
      for (const b of beyond) {
        expect(smallestGradient[b.param]![b.index], `${b.param}[${b.index}] differs by ${b.error} without an ε-scale gradient`).toBeLessThan(1e-7);
        expect(b.error).toBeLessThanOrEqual(0.1 * lr);
      }
      if (beyond.length > 0) report.push(`${name}: ${beyond.length} element(s) beyond 1e-5, each with a gradient below 1e-7 at some step`);
      expect(error).toBeLessThanOrEqual(name === "SGD" ? 1e-5 : 0.1 * lr);
      expect(stateError).toBeLessThanOrEqual(1e-5);
      expect(lossError).toBeLessThanOrEqual(1e-5);
    });
  }

  afterAll(() => console.log(`largest error after ${STEPS} MNIST MLP steps (|a - b| / max(1, |b|)):\n  ${report.join("\n  ")}`));
});

describe("the exported step model", () => {
  const trainer = tg.createTrainer({ loss, params, optimizer: tg.adam(), learningRate: 1e-3 });
  const start = trainer.init(5);

  it("has the step graph's inputs and outputs and says which output feeds which input", () => {
    const model = decodeModel(exportTrainStep(trainer.stepGraph, start));
    expect(model.graph.initializers.filter((n) => !n.startsWith("tg/"))).toEqual([]); // params are inputs, not stored
    const inputs = model.graph.inputs.map((i) => i.name);
    expect(inputs).toEqual(expect.arrayContaining(["x", "labels", "opt.lr", "opt.step", "mnist.0.W", "opt.m.mnist.0.W", "opt.v.mnist.2.b"]));
    expect(model.graph.outputs.map((o) => o.name)).toEqual(trainer.stepGraph.graph.outputNames);
    const feedback = JSON.parse(model.metadata["typegrad.feedback"]!) as Record<string, string>;
    expect(feedback["param:mnist.1.W"]).toBe("mnist.1.W");
    expect(feedback["state:opt.v.mnist.0.b"]).toBe("opt.v.mnist.0.b");
    expect(Object.keys(feedback)).toHaveLength(6 + 12);
    expect(model.metadata["typegrad.lrInput"]).toBe("opt.lr");
  });

  it("with paramsAs 'initializers' computes one step from the given params, which are not inputs", async () => {
    const bytes = exportTrainStep(trainer.stepGraph, start, { paramsAs: "initializers" });
    const model = decodeModel(bytes);
    expect(model.graph.inputs.map((i) => i.name)).not.toContain("mnist.0.W");
    expect(model.graph.initializers).toContain("mnist.0.W");
    expect(JSON.parse(model.metadata["typegrad.feedback"]!)).not.toHaveProperty("param:mnist.0.W");
    const session = await openOrt(bytes);
    const out = await session.run({ ...batchAt(1), ...start.optimizer, "opt.lr": scalar(1e-3), "opt.step": scalar(1) });
    await session.release();
    const r = trainer.trainStep(start, batchAt(1));
    expect(compareValues(out["param:mnist.0.b"]!, r.state.params["mnist.0.b"]!).maxError).toBeLessThanOrEqual(1e-5);
  });

  it("refuses paramsAs 'initializers' without param values, naming the param", () => {
    expect(() => exportTrainStep(trainer.stepGraph, undefined, { paramsAs: "initializers" })).toThrow(/params\.mnist\.0\.W: no value given for param 'mnist\.0\.W' f32\[784,256\]/);
  });
});
