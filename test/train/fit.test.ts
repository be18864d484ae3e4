import { describe, expect, it } from "vitest";
import { adam, sgd, createTrainer, input, mlp, softmaxCrossEntropy, sym, tanh, type Tensor } from "../../src/index.js";
import { loadIris } from "../../src/data/builtin.js";
import { splitDataset } from "../../src/data/split.js";
import { scaleSplits } from "../../src/data/preprocess.js";
import { toFloat32 } from "../../src/data/dataset.js";
import { createEvaluator, supervisedFeeds } from "../../src/train/evaluate.js";
import { fit, fitIter, type FitEvent } from "../../src/train/fit.js";
import { trainIris } from "../../examples/iris.js";
import { loadTrainState } from "../../src/train/trainCheckpoint.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const setup = () => {
  const batch = sym("batch");
  const x = input("x", [batch, 4], "f32");
  const labels = input("labels", [batch], "i32");
  const params = mlp.init("fitnet", [4, 8, 3]);
  const logits = mlp(params, tanh)(x) as Tensor<readonly [typeof batch, 3], "f32">;
  const loss = softmaxCrossEntropy(logits, labels);
  const splits = scaleSplits(splitDataset(toFloat32(loadIris()), { test: 0.2, validation: 0.2, stratify: true, seed: 5 }), "standardize");
  const feeds = supervisedFeeds(x, labels);
  const trainer = createTrainer({ loss, params, optimizer: adam(), learningRate: 0.02, metrics: { logits } });
  const evaluator = createEvaluator({ loss, logits, feeds });
  return { trainer, evaluator, feeds, splits };
};

describe("fit", () => {
  it("the Iris example reaches at least 93% test accuracy", async () => {
    const { test, history } = await trainIris();
    expect(history).toHaveLength(60);
    expect(test.accuracy!).toBeGreaterThanOrEqual(0.93);
  });

  it("yields step and epoch events in order, with validation metrics", async () => {
    const { trainer, evaluator, feeds, splits } = setup();
    const events: FitEvent[] = [];
    const result = await fit(trainer, trainer.init(1), { epochs: 3, batchSize: 32, train: splits.train, validation: splits.validation, feeds, evaluator }, (e) => events.push(e));
    const epochs = events.filter((e) => e.kind === "epoch");
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const steps = events.filter((e) => e.kind === "step");
    expect(steps.length).toBe(3 * Math.ceil(splits.train.features.rows / 32));
    expect(steps.every((s) => s.kind === "step" && s.accuracy !== undefined && Number.isFinite(s.loss))).toBe(true);
    expect(epochs.every((e) => e.kind === "epoch" && e.validationAccuracy !== undefined)).toBe(true);
    expect(result.state.epoch).toBe(3);
    expect(result.stoppedBy).toBe("epochs");
  });

  it("stops early and restores the best params", async () => {
    const { trainer, evaluator, feeds, splits } = setup();
    const result = await fit(trainer, trainer.init(2), {
      epochs: 400, batchSize: 16, train: splits.train, validation: splits.validation, feeds, evaluator,
      earlyStopping: { patience: 3, minDelta: 1e-3 },
    });
    expect(result.stoppedBy).toBe("earlyStopping");
    expect(result.history.length).toBeLessThan(400);
    const best = result.history.find((e) => e.epoch === result.bestEpoch)!;
    expect(evaluator.evaluate(result.state.params, splits.validation).loss).toBeCloseTo(best.validationLoss!, 6);
  });

  it("stops after the current step when the signal aborts", async () => {
    const { trainer, feeds, splits } = setup();
    const controller = new AbortController();
    let steps = 0;
    const result = await fit(trainer, trainer.init(3), { epochs: 5, batchSize: 8, train: splits.train, feeds, signal: controller.signal }, (e) => {
      if (e.kind === "step" && ++steps === 7) controller.abort();
    });
    expect(result.stoppedBy).toBe("aborted");
    expect(result.state.step).toBe(7);
  });

  it("resuming from a mid-run state continues bit-identically", async () => {
    const { trainer, feeds, splits } = setup();
    const options = { batchSize: 16, train: splits.train, feeds };
    const full = await fit(trainer, trainer.init(4), { ...options, epochs: 4 });
    const half = await fit(trainer, trainer.init(4), { ...options, epochs: 2 });
    const resumed = await fit(trainer, half.state, { ...options, epochs: 4 });
    for (const k of Object.keys(full.state.params)) {
      expect(Array.from(resumed.state.params[k]!.data)).toEqual(Array.from(full.state.params[k]!.data));
    }
    expect(resumed.history.map((e) => e.trainLoss)).toEqual(full.history.slice(2).map((e) => e.trainLoss));
  });

  it("is an async iterator that can be consumed directly", async () => {
    const { trainer, feeds, splits } = setup();
    let epochs = 0;
    for await (const e of fitIter(trainer, trainer.init(0), { epochs: 2, batchSize: 64, train: splits.train, feeds })) if (e.kind === "epoch") epochs++;
    expect(epochs).toBe(2);
  });

  it("checkpoints each epoch and resumes from the file to the same params as an uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-fit-"));
    try {
      const path = join(dir, "run.safetensors");
      const { trainer, feeds, splits } = setup();
      const options = { batchSize: 16, train: splits.train, feeds };
      const full = await fit(trainer, trainer.init(9), { ...options, epochs: 3 });
      const controller = new AbortController();
      const curves = join(dir, "curves.svg");
      const first = await fit(trainer, trainer.init(9), { ...options, epochs: 3, signal: controller.signal }, {
        checkpoint: { path },
        curves,
        onEvent: (e) => e.kind === "epoch" && e.epoch === 2 && controller.abort(),
      });
      expect(first.stoppedBy).toBe("aborted");
      expect(readFileSync(curves, "utf8")).toMatch(/^<\?xml[^>]*>\s*<svg[\s\S]*<\/svg>\s*$/);
      const loaded = loadTrainState(path, trainer, trainer.init(0));
      expect(loaded.epoch).toBe(2);
      const resumed = await fit(trainer, loaded, { ...options, epochs: 3 });
      for (const k of Object.keys(full.state.params)) {
        expect(Buffer.from(resumed.state.params[k]!.data.buffer).equals(Buffer.from(full.state.params[k]!.data.buffer))).toBe(true);
      }
      const other = createTrainer({ loss: trainer.config.loss, params: trainer.config.params, optimizer: sgd(), learningRate: 0.1 });
      expect(() => loadTrainState(path, other, other.init(0))).toThrow(/graph|opt\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
