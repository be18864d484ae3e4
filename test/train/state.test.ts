/**
 * The trainer with model state and dropout: batch-norm running statistics are state
 * (not trained, replaced by the step's outputs, saved with the params), evaluation graphs
 * read them, and dropout keys make steps reproducible and resumable.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { stepKeyFor } from "../../src/train/trainer.js";

const B = tg.sym("batch");
const x = tg.input("x", [B, 1, 4, 4], "f64");
const labels = tg.input("labels", [B], "i32");
const params = {
  conv: tg.layers.conv2d.init("conv", 1, 3, 3, { dtype: "f64", bias: false }),
  norm: tg.layers.batchNorm.init("norm", 3, "f64"),
  head: tg.dense.init("head", 3, 2, { dtype: "f64" }),
};
const model = (mode: tg.Mode) => {
  const h = tg.layers.batchNorm(params.norm, mode)(tg.layers.conv2d(params.conv, { padding: "same" })(x));
  const features = tg.dropout(tg.globalAvgPool(tg.relu(h.y)), 0.3, { training: mode.training, key: tg.stepKey(), stream: 1 });
  return { logits: tg.dense(params.head)(features), updates: h.updates };
};
const train = model({ training: true });
const evaluation = model({ training: false });
const makeTrainer = () =>
  tg.createTrainer({ loss: tg.softmaxCrossEntropy(train.logits, labels), params, state: train.updates, optimizer: tg.adam(), learningRate: 0.01 });
const batch = {
  x: tg.tensorValue("f64", [6, 1, 4, 4], Array.from({ length: 96 }, (_, i) => Math.cos(i * 0.7) + (i % 16) / 8)),
  labels: tg.tensorValue("i32", [6], [0, 1, 0, 1, 1, 0]),
};

describe("trainer with model state", () => {
  it("does not train the running statistics; each step replaces them with their next values", () => {
    const trainer = makeTrainer();
    expect(trainer.stepGraph.stateNames).toEqual(["norm.runningMean", "norm.runningVar"]);
    expect(trainer.stepGraph.paramNames).not.toContain("norm.runningMean");
    expect(trainer.stepGraph.graph.outputNames).toContain("state:norm.runningMean");
    expect(trainer.stepGraph.stateLeaves.map((l) => l.param)).not.toContain("norm.runningVar");
    const start = trainer.init(0);
    expect(Array.from(start.params["norm.runningVar"]!.data)).toEqual([1, 1, 1]);
    const { state } = trainer.trainStep(start, batch);
    // The running mean moved 10% of the way to the batch mean of the conv output.
    const conv = tg.evaluate([tg.mean(tg.layers.conv2d(params.conv, { padding: "same" })(x), [0, 2, 3]).node], { ...start.params, ...batch }, { allowExtraFeeds: true })[0]!;
    Array.from(conv.data).forEach((m, c) => expect(state.params["norm.runningMean"]!.data[c]).toBeCloseTo(0.1 * m, 12));
  });

  it("evaluation reads the running statistics and is deterministic (no dropout)", () => {
    const trainer = makeTrainer();
    let state = trainer.init(1);
    for (let i = 0; i < 3; i++) state = trainer.trainStep(state, batch).state;
    const evaluate = (p: tg.ParamValues) => tg.evaluate([evaluation.logits.node], { ...p, ...batch }, { allowExtraFeeds: true })[0]!.data;
    expect(Array.from(evaluate(state.params))).toEqual(Array.from(evaluate(state.params)));
    const shifted = { ...state.params, "norm.runningMean": tg.tensorValue("f64", [3], [5, 5, 5]) };
    expect(Array.from(evaluate(shifted))).not.toEqual(Array.from(evaluate(state.params)));
  });
});

describe("dropout keys", () => {
  it("differ from step to step and come from the data RNG", () => {
    const rng = tg.rngFromSeed(3);
    expect(stepKeyFor(rng, 1)).not.toBe(stepKeyFor(rng, 2));
    expect(stepKeyFor(rng, 1)).not.toBe(stepKeyFor(tg.rngFromSeed(4), 1));
    expect(stepKeyFor(rng, 1)).toBe(stepKeyFor(tg.rngFromSeed(3), 1));
    expect(Number.isInteger(stepKeyFor(rng, 1)) && Math.abs(stepKeyFor(rng, 1)) < 2 ** 31).toBe(true);
  });

  it("make runs reproducible and a resumed run identical to an uninterrupted one", () => {
    const trainer = makeTrainer();
    const steps = (s: tg.TrainState, n: number): { state: tg.TrainState; losses: number[] } => {
      const losses: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = trainer.trainStep(s, batch);
        losses.push(r.loss);
        s = r.state;
      }
      return { state: s, losses };
    };
    const straight = steps(trainer.init(7), 4);
    const firstHalf = steps(trainer.init(7), 2);
    const resumed = steps({ ...firstHalf.state, params: { ...firstHalf.state.params }, optimizer: { ...firstHalf.state.optimizer } }, 2);
    expect([...firstHalf.losses, ...resumed.losses]).toEqual(straight.losses);
    expect(Array.from(resumed.state.params["head.W"]!.data)).toEqual(Array.from(straight.state.params["head.W"]!.data));
    // The same batch twice: different dropout masks, so different losses at the same params.
    const s0 = trainer.init(7);
    expect(trainer.trainStep(s0, batch).loss).not.toBe(trainer.trainStep({ ...s0, step: 5 }, batch).loss);
  });
});
