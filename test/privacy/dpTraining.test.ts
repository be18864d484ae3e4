/**
 * DP-SGD: the step clips each example's gradient to the global norm C, adds σ·C times the
 * standard normals drawn from the state's noise RNG, averages and applies the base
 * optimizer — checked against a hand computation from separately computed per-example
 * gradients. Runs are reproducible and resume bit-identically from a checkpoint; `fit`
 * trains the MNIST MLP privately; `privacy` is the accountant's answer.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tg from "../../src/index.js";
import { createDpTrainer, NOISE_RNG_STATE } from "../../src/privacy/dpTrainer.js";
import { buildDpTrainStep, CLIPPED_FRACTION_METRIC, noiseInputName } from "../../src/privacy/dpStep.js";
import { dpSgdPrivacy } from "../../src/privacy/accountant.js";
import { evaluate } from "../../runtime/interpret.js";
import { portableLog, withRng } from "../../src/random.js";
import { loadMnist } from "../../src/data/builtin.js";
import { params as mnistParams, logits as mnistLogits, loss as mnistLoss, x as mnistX, labels as mnistLabels } from "../../examples/mnist-mlp.js";
import type { TensorValue } from "../../runtime/value.js";

/** A linear regression written for one example: x [3], y []. */
const x = tg.input("x", [3], "f64");
const y = tg.input("y", [], "f64");
const W = tg.param("W", [3], "f64");
const b = tg.param("b", [], "f64");
const loss = tg.square(tg.sub(tg.add(tg.sum(tg.mul(x, W)), b), y));

const xs = [[1, 2, 3], [0.1, -0.2, 0.05], [-4, 0, 2], [0.3, 0.3, -0.1]];
const ys = [2, 0.01, -5, 0.2];
const batch = { x: tg.tensorValue("f64", [4, 3], xs.flat()), y: tg.tensorValue("f64", [4], ys) };
const start = { W: tg.tensorValue("f64", [3], [0.5, -0.25, 0.1]), b: tg.tensorValue("f64", [], [0.3]) };
const C = 1.5;
const LR = 0.1;

/** Each example's gradient on its own, clipped by hand; their sum. */
const clippedSum = (): { W: number[]; b: number; clipped: number } => {
  const [gW, gb] = tg.grad(loss, [W, b]);
  const sumW = [0, 0, 0];
  let sumB = 0;
  let clipped = 0;
  xs.forEach((xv, i) => {
    const [dW, db] = evaluate([gW!.node, gb!.node], { ...start, x: tg.tensorValue("f64", [3], xv), y: tg.tensorValue("f64", [], [ys[i]!]) });
    const norm = Math.hypot(...Array.from(dW!.data), db!.data[0]!);
    const factor = Math.min(1, C / norm);
    if (norm > C) clipped++;
    dW!.data.forEach((v, k) => (sumW[k] = sumW[k]! + factor * v));
    sumB += factor * db!.data[0]!;
  });
  return { W: sumW, b: sumB, clipped };
};

describe("the DP-SGD step", () => {
  it("clips each example to norm C, averages and applies SGD (σ = 0: no noise inputs)", () => {
    const trainer = createDpTrainer({ loss, params: { W, b }, optimizer: tg.sgd(), learningRate: LR, clipNorm: C, noiseMultiplier: 0 });
    expect(trainer.stepGraph.noiseInputs).toEqual([]);
    const { state, loss: meanLoss, metrics } = trainer.trainStep(trainer.init(0, start), batch);
    const want = clippedSum();
    expect(want.clipped).toBeGreaterThan(0); // the batch exercises both sides of the bound
    expect(want.clipped).toBeLessThan(4);
    want.W.forEach((g, k) => expect(state.params.W!.data[k]).toBeCloseTo(start.W.data[k]! - (LR * g) / 4, 12));
    expect(state.params.b!.data[0]).toBeCloseTo(start.b.data[0]! - (LR * want.b) / 4, 12);
    expect(metrics[CLIPPED_FRACTION_METRIC]!.data[0]).toBe(want.clipped / 4);
    const residuals = xs.map((xv, i) => xv.reduce((s, v, k) => s + v * start.W.data[k]!, start.b.data[0]!) - ys[i]!);
    expect(meanLoss).toBeCloseTo(residuals.reduce((s, r) => s + r * r, 0) / 4, 12);
  });

  it("adds σ·C times the state's standard normals, divided by the batch size", () => {
    const sigma = 0.7;
    const trainer = createDpTrainer({ loss, params: { W, b }, optimizer: tg.sgd(), learningRate: LR, clipNorm: C, noiseMultiplier: sigma });
    expect(trainer.stepGraph.noiseInputs).toEqual([
      { input: noiseInputName("W"), param: "W" },
      { input: noiseInputName("b"), param: "b" },
    ]);
    const s0 = trainer.init(3, start);
    const words = s0.optimizer[NOISE_RNG_STATE]!.data;
    // Marsaglia's polar method, both values of each accepted pair: W's 3 values, then b's.
    const [z] = withRng({ s0: words[0]! >>> 0, s1: words[1]! >>> 0, s2: words[2]! >>> 0, s3: words[3]! >>> 0 }, (r) => {
      const pairs = (count: number): number[] => {
        const got: number[] = [];
        while (got.length < count) {
          const [u, v] = [2 * r.nextFloat() - 1, 2 * r.nextFloat() - 1];
          const s = u * u + v * v;
          if (s >= 1 || s === 0) continue;
          const f = Math.sqrt((-2 * portableLog(s)) / s);
          got.push(u * f, v * f);
        }
        return got.slice(0, count);
      };
      return [...pairs(3), ...pairs(1)];
    });
    const { state } = trainer.trainStep(s0, batch);
    const want = clippedSum();
    want.W.forEach((g, k) => expect(state.params.W!.data[k]).toBeCloseTo(start.W.data[k]! - (LR * (g + sigma * C * z[k]!)) / 4, 12));
    expect(state.params.b!.data[0]).toBeCloseTo(start.b.data[0]! - (LR * (want.b + sigma * C * z[3]!)) / 4, 12);
    // The noise stream moved on: the next step draws new noise.
    expect(Array.from(state.optimizer[NOISE_RNG_STATE]!.data)).not.toEqual(Array.from(words));
  });

  it("is reproducible and resumes bit-identically from a checkpoint (noise stream included)", () => {
    const make = () => createDpTrainer({ loss, params: { W, b }, optimizer: tg.adam(), learningRate: 0.05, clipNorm: C, noiseMultiplier: 1.1 });
    const run = (steps: number, from: tg.TrainState, trainer: ReturnType<typeof make>): tg.TrainState => {
      let s = from;
      for (let i = 0; i < steps; i++) s = trainer.trainStep(s, batch).state;
      return s;
    };
    const t1 = make();
    const straight = run(3, t1.init(9), t1);
    expect(run(3, t1.init(9), t1).params.W!.data).toEqual(straight.params.W!.data);
    const dir = mkdtempSync(join(tmpdir(), "tg-dp-"));
    try {
      const path = join(dir, "dp.safetensors");
      tg.saveTrainState(path, t1, run(1, t1.init(9), t1));
      const t2 = make();
      const resumed = run(2, tg.loadTrainState(path, t2, t2.init(0)), t2);
      expect(resumed.step).toBe(3);
      expect(Array.from(resumed.params.W!.data)).toEqual(Array.from(straight.params.W!.data));
      expect(Array.from(resumed.optimizer[NOISE_RNG_STATE]!.data)).toEqual(Array.from(straight.optimizer[NOISE_RNG_STATE]!.data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a batch-level loss and bad settings, naming the field", () => {
    const xb = tg.input("xb", [tg.sym("batch"), 3], "f64");
    expect(() => buildDpTrainStep({ loss: tg.sum(tg.matmul(xb, tg.reshape(W, [3, 1]))), params: { W }, optimizer: tg.sgd(), clipNorm: 1, noiseMultiplier: 1 })).toThrow(
      /batch dim 'batch' is already a dim of the graph/,
    );
    expect(() => buildDpTrainStep({ loss: tg.mul(x, W), params: { W }, optimizer: tg.sgd(), clipNorm: 1, noiseMultiplier: 1 })).toThrow(/loss: must be the scalar loss of one example, got shape \[3\]/);
    expect(() => buildDpTrainStep({ loss, params: { W }, optimizer: tg.sgd(), clipNorm: 0, noiseMultiplier: 1 })).toThrow(/clipNorm: must be a positive finite number, got 0/);
    expect(() => buildDpTrainStep({ loss, params: { W }, optimizer: tg.sgd(), clipNorm: 1, noiseMultiplier: -1 })).toThrow(/noiseMultiplier: must be a finite number >= 0, got -1/);
  });
});

describe("ghost clipping", () => {
  it("gives the materialized per-example gradients' result without forming them", () => {
    const xe = tg.input("x", [784]);
    const label = tg.input("labels", [], "i32");
    const logits = tg.mlp(mnistParams, tg.relu)(tg.reshape(xe, [1, 784]));
    const perExampleLoss = tg.softmaxCrossEntropy(logits, tg.reshape(label, [1]));
    const make = (clipping: "ghost" | "materialized") =>
      createDpTrainer({ loss: perExampleLoss, params: mnistParams, optimizer: tg.sgd(), learningRate: 1, clipNorm: 0.5, noiseMultiplier: 0, clipping });
    const data = loadMnist({ train: 24, test: 0, seed: 2 });
    const results = (["ghost", "materialized"] as const).map((method) => {
      const trainer = make(method);
      const feeds = tg.supervisedFeeds(trainer.stepGraph.inputs.x!, trainer.stepGraph.inputs.labels!)(data.train);
      const start = trainer.init(4);
      const r = trainer.trainStep(start, feeds);
      const updates = Object.fromEntries(Object.entries(r.state.params).map(([k, v]) => [k, Array.from(v.data).map((x, i) => x - start.params[k]!.data[i]!)]));
      const perExampleWeights = trainer.stepGraph.graph.nodes.filter((n) => n.shape.length === 3 && n.shape[1] === 784 && n.shape[2] === 256);
      return { r, updates, perExampleWeights };
    });
    const [ghost, materialized] = [results[0]!, results[1]!];
    expect(ghost.perExampleWeights).toEqual([]);
    expect(materialized.perExampleWeights.length).toBeGreaterThan(0);
    expect(ghost.r.metrics[CLIPPED_FRACTION_METRIC]!.data[0]).toBe(materialized.r.metrics[CLIPPED_FRACTION_METRIC]!.data[0]);
    for (const name of Object.keys(ghost.updates)) {
      const [a, b] = [ghost.updates[name]!, materialized.updates[name]!];
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      // Updates agree to f32 rounding of the parameters they were added to.
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-3 * scale + 1e-7));
    }
  });
});

describe("DP-SGD on MNIST (small run)", () => {
  it("trains the MNIST MLP privately with fit; privacy() is the accountant's (ε, δ)", async () => {
    const xe = tg.input("x", [784]);
    const label = tg.input("labels", [], "i32");
    const logits = tg.mlp(mnistParams, tg.relu)(tg.reshape(xe, [1, 784]));
    const perExampleLoss = tg.softmaxCrossEntropy(logits, tg.reshape(label, [1]));
    const trainer = createDpTrainer({
      loss: perExampleLoss,
      params: mnistParams,
      optimizer: tg.sgd(),
      learningRate: 0.5,
      clipNorm: 1,
      noiseMultiplier: 1,
      metrics: { logits: tg.reshape(logits, [10]) },
    });
    const rows = 1000;
    const batchSize = 50;
    const data = loadMnist({ train: rows, test: 500, seed: 1 });
    const feeds = tg.supervisedFeeds(trainer.stepGraph.inputs.x!, trainer.stepGraph.inputs.labels!);
    const { state, history } = await tg.fit(trainer, trainer.init(0), { epochs: 4, batchSize, train: data.train, feeds });
    expect(history[3]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    const test = tg.createEvaluator({ loss: mnistLoss, logits: mnistLogits, feeds: tg.supervisedFeeds(mnistX, mnistLabels) }).evaluate(state.params, data.test);
    expect(test.accuracy!).toBeGreaterThan(0.6);
    const spent = trainer.privacy(state, { datasetSize: rows, batchSize, delta: 1e-5 });
    expect(state.step).toBe(80);
    expect(spent).toEqual(dpSgdPrivacy({ datasetSize: rows, batchSize, noiseMultiplier: 1, steps: 80, delta: 1e-5 }));
    expect(spent.epsilon).toBeGreaterThan(0);
    const clipped: TensorValue | undefined = trainer.trainStep(state, feeds(data.train)).metrics[CLIPPED_FRACTION_METRIC];
    expect(clipped!.data[0]).toBeGreaterThan(0);
  });
});
