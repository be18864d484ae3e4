import { describe, expect, it } from "vitest";
import { trainSeedMlp } from "../../examples/seed-mlp.js";
import { adam, createTrainer, input, mlp, mse, sym, tanh, tensorValue, softmaxCrossEntropy, type Tensor } from "../../src/index.js";

describe("training step", () => {
  it("the seed MLP example drives the loss below 1e-3 in 100 epochs", () => {
    const losses = trainSeedMlp(100, 1);
    expect(losses).toHaveLength(100);
    expect(losses[99]!).toBeLessThan(1e-3);
    expect(losses[99]!).toBeLessThan(losses[0]!);
  });

  it("is deterministic: the same seed gives bit-identical losses", () => {
    expect(trainSeedMlp(20, 3)).toEqual(trainSeedMlp(20, 3));
  });

  it("one compiled step graph holds loss, new params and optimizer state", () => {
    const x = input("x", [sym("batch"), 3], "f64");
    const labels = input("labels", [sym("batch")], "i32");
    const p = mlp.init("clf", [3, 5, 2], { dtype: "f64" });
    const logits = mlp(p, tanh)(x);
    const loss = softmaxCrossEntropy(logits as Tensor<readonly [number, number], "f64">, labels as unknown as Tensor<readonly [number], "i32">);
    const trainer = createTrainer({ loss, params: p, optimizer: adam(), learningRate: 0.05, metrics: { logits } });
    expect(trainer.stepGraph.graph.outputNames).toContain("param:clf.0.W");
    expect(trainer.stepGraph.graph.outputNames).toContain("state:opt.m.clf.0.W");
    let state = trainer.init(0);
    const feeds = { x: tensorValue("f64", [4, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]), labels: tensorValue("i32", [4], [0, 1, 1, 0]) };
    const first = trainer.trainStep(state, feeds);
    state = first.state;
    for (let i = 0; i < 100; i++) state = trainer.trainStep(state, feeds).state;
    const last = trainer.trainStep(state, feeds);
    expect(last.loss).toBeLessThan(first.loss / 4);
    expect(last.metrics.logits!.shape).toEqual([4, 2]);
    expect(last.state.step).toBe(102);
    expect(() => mse(x, x) && createTrainer({ loss: x, params: p, optimizer: adam(), learningRate: 1 })).toThrow(/scalar/);
  });
});

describe("recycling step outputs", () => {
  it("writes into the offered arrays and computes exactly what fresh arrays would", () => {
    const x = input("x", [sym("batch"), 3], "f32");
    const labels = input("labels", [sym("batch")], "i32");
    const p = mlp.init("recycle", [3, 4, 2]);
    const loss = softmaxCrossEntropy(mlp(p, tanh)(x), labels);
    const trainer = createTrainer({ loss, params: p, optimizer: adam(), learningRate: 0.1 });
    const feeds = { x: tensorValue("f32", [2, 3], [1, 2, 3, -1, 0, 1]), labels: tensorValue("i32", [2], [1, 0]) };
    let fresh = trainer.init(5);
    let recycled = trainer.init(5);
    let previous: typeof recycled | undefined;
    for (let i = 0; i < 6; i++) {
      fresh = trainer.trainStep(fresh, feeds).state;
      const offer = previous === undefined ? undefined : { ...previous.params, ...previous.optimizer };
      const next = trainer.trainStep(recycled, feeds, offer === undefined ? {} : { recycle: offer }).state;
      if (previous !== undefined) expect(next.params["recycle.0.W"]!.data).toBe(previous.params["recycle.0.W"]!.data);
      previous = recycled;
      recycled = next;
    }
    for (const k of Object.keys(fresh.params)) expect(Array.from(recycled.params[k]!.data)).toEqual(Array.from(fresh.params[k]!.data));
  });
});

describe("choosing the executor", () => {
  it("the js and wasm backends and the interpreter train the seed network to the same loss (f32 tolerance)", () => {
    const x = input("x", [sym("batch"), 2], "f32");
    const y = input("y", [sym("batch"), 1], "f32");
    const p = mlp.init("exec", [2, 4, 1], { init: { kind: "normal", mean: 0, std: 1 } });
    const loss = mse(mlp(p, tanh)(x), y);
    const feeds = { x: tensorValue("f32", [2, 2], [1, 0, -1, 0]), y: tensorValue("f32", [2, 1], [1, -1]) };
    const lossAfter = (runner: Parameters<typeof createTrainer>[0]["runner"]) => {
      const trainer = createTrainer({ loss, params: p, optimizer: adam(), learningRate: 0.01, ...(runner === undefined ? {} : { runner }) });
      let state = trainer.init(2);
      let last = 0;
      for (let i = 0; i < 5; i++) ({ state, loss: last } = trainer.trainStep(state, feeds));
      return last;
    };
    const interpreted = lossAfter({ executor: "interpret" });
    expect(lossAfter({ compile: { backend: "js" } })).toBeCloseTo(interpreted, 5);
    expect(lossAfter(undefined)).toBeCloseTo(interpreted, 5);
  });
});
