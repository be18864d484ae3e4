/**
 * Iris flowers: 4 measurements -> 3 species. Standardized with statistics of the training
 * split only, stratified train/validation/test split, a 4-16-3 MLP trained with Adam.
 *
 * Run: npx tsx examples/iris.ts
 */
import { pathToFileURL } from "node:url";
import { input, sym, tanh, mlp, adam, createTrainer, softmaxCrossEntropy, type Tensor } from "../src/index.js";
import { loadIris } from "../src/data/builtin.js";
import { splitDataset } from "../src/data/split.js";
import { scaleSplits } from "../src/data/preprocess.js";
import { toFloat32 } from "../src/data/dataset.js";
import { createEvaluator, supervisedFeeds } from "../src/train/evaluate.js";
import { fit, type FitEvent } from "../src/train/fit.js";

const batch = sym("batch");
const x = input("x", [batch, 4], "f32");
const labels = input("labels", [batch], "i32");

export const params = mlp.init("iris", [4, 16, 3]);
export const logits = mlp(params, tanh)(x) as Tensor<readonly [typeof batch, 3], "f32">;
export const loss = softmaxCrossEntropy(logits, labels);

/** Trains on Iris; returns test accuracy and the per-epoch history. */
export const trainIris = async (options: { epochs?: number; seed?: number; onEvent?: (e: FitEvent) => void } = {}) => {
  const seed = options.seed ?? 0;
  const splits = scaleSplits(splitDataset(toFloat32(loadIris()), { test: 0.3, validation: 0.2, stratify: true, seed }), "standardize");
  const feeds = supervisedFeeds(x, labels);
  const trainer = createTrainer({ loss, params, optimizer: adam(), learningRate: 0.01, metrics: { logits }, name: "irisStep" });
  const evaluator = createEvaluator({ loss, logits, feeds });
  const result = await fit(
    trainer,
    trainer.init(seed),
    { epochs: options.epochs ?? 60, batchSize: 16, train: splits.train, validation: splits.validation, feeds, evaluator },
    options.onEvent,
  );
  const test = evaluator.evaluate(result.state.params, splits.test);
  return { test, history: result.history, splits };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { test, history } = await trainIris({
    onEvent: (e) => {
      if (e.kind === "epoch" && e.epoch % 10 === 0)
        console.log(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, validation accuracy ${((e.validationAccuracy ?? 0) * 100).toFixed(1)}%`);
    },
  });
  console.log(`Iris test accuracy: ${((test.accuracy ?? 0) * 100).toFixed(1)}% (${test.rows} flowers) after ${history.length} epochs`);
}
