/**
 * Private handwritten digits: the MNIST MLP of examples/mnist-mlp.ts (784-256-256-10,
 * ReLU, the same params) trained with DP-SGD on 8,000 digits and tested on 2,000 others.
 * Each step clips every example's gradient to norm 1, adds Gaussian noise (σ = 1.1) to
 * their sum and takes a momentum step; the RDP accountant then states (ε, δ) for δ = 1e-5.
 * For comparison the same model is also trained without privacy with the same optimizer,
 * batch size and epochs.
 *
 * Run: npx tsx examples/mnist-dp.ts [epochs]
 */
import { pathToFileURL } from "node:url";
import { createEvaluator, createTrainer, fit, input, momentum, mlp, relu, reshape, softmaxCrossEntropy, supervisedFeeds, type FitEvent } from "../src/index.js";
import { loadMnist } from "../src/data/builtin.js";
import { createDpTrainer } from "../src/privacy/dpTrainer.js";
import { params, logits as batchLogits, loss as batchLoss, x as batchX, labels as batchLabels } from "./mnist-mlp.js";

/** The model for one example: x [784], label [] — the same params as the batch model. */
const x = input("x", [784]);
const label = input("labels", [], "i32");
const logits = mlp(params, relu)(reshape(x, [1, 784]));
export const perExampleLoss = softmaxCrossEntropy(logits, reshape(label, [1]));

/** The settings of the full run (see docs/explain-privacy.md for its figures). */
export const DP_SETTINGS = { epochs: 30, batchSize: 256, clipNorm: 1, noiseMultiplier: 1.1, learningRate: 0.05, momentum: 0.9, delta: 1e-5 } as const;

export interface MnistDpOptions {
  readonly epochs?: number;
  readonly train?: number;
  readonly test?: number;
  readonly seed?: number;
  readonly noiseMultiplier?: number;
  readonly onEvent?: (e: FitEvent) => void;
}

/** Trains the MLP with DP-SGD; returns test accuracy, (ε, δ) and the run. */
export const trainMnistDp = async (options: MnistDpOptions = {}) => {
  const s = DP_SETTINGS;
  const seed = options.seed ?? 0;
  const data = loadMnist({ train: options.train ?? 8000, test: options.test ?? 2000, validation: 0, seed });
  const trainer = createDpTrainer({
    loss: perExampleLoss,
    params,
    optimizer: momentum(s.momentum),
    learningRate: s.learningRate,
    clipNorm: s.clipNorm,
    noiseMultiplier: options.noiseMultiplier ?? s.noiseMultiplier,
    metrics: { logits: reshape(logits, [10]) },
    name: "mnistDpStep",
  });
  const feeds = supervisedFeeds(trainer.stepGraph.inputs.x!, trainer.stepGraph.inputs.labels!);
  const result = await fit(trainer, trainer.init(seed), { epochs: options.epochs ?? s.epochs, batchSize: s.batchSize, train: data.train, feeds }, options.onEvent ?? {});
  const test = createEvaluator({ loss: batchLoss, logits: batchLogits, feeds: supervisedFeeds(batchX, batchLabels) }).evaluate(result.state.params, data.test);
  const privacy = trainer.privacy(result.state, { datasetSize: data.train.features.rows, batchSize: s.batchSize, delta: s.delta });
  return { result, test, privacy, trainer, data };
};

/** The same model, optimizer, batch size and epochs without clipping or noise: the non-private reference. */
export const trainMnistNonPrivate = async (options: Omit<MnistDpOptions, "noiseMultiplier"> = {}) => {
  const s = DP_SETTINGS;
  const data = loadMnist({ train: options.train ?? 8000, test: options.test ?? 2000, validation: 0, seed: options.seed ?? 0 });
  const feeds = supervisedFeeds(batchX, batchLabels);
  const trainer = createTrainer({ loss: batchLoss, params, optimizer: momentum(s.momentum), learningRate: s.learningRate, metrics: { logits: batchLogits }, name: "mnistStep" });
  const result = await fit(trainer, trainer.init(options.seed ?? 0), { epochs: options.epochs ?? s.epochs, batchSize: s.batchSize, train: data.train, feeds }, options.onEvent ?? {});
  return { result, test: createEvaluator({ loss: batchLoss, logits: batchLogits, feeds }).evaluate(result.state.params, data.test) };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const epochs = Number(process.argv[2] ?? DP_SETTINGS.epochs);
  const s = DP_SETTINGS;
  console.log(`DP-SGD on 8,000 MNIST digits: clip ${s.clipNorm}, noise multiplier ${s.noiseMultiplier}, batch ${s.batchSize}, momentum ${s.momentum}, lr ${s.learningRate}, ${epochs} epochs`);
  const started = performance.now();
  const { test, privacy, result } = await trainMnistDp({
    epochs,
    onEvent: (e) => {
      if (e.kind === "epoch") console.log(`epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}, train accuracy ${((e.trainAccuracy ?? 0) * 100).toFixed(1)}%, ${e.seconds.toFixed(1)} s`);
    },
  });
  console.log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s (${result.state.step} steps)`);
  console.log(`test accuracy: ${((test.accuracy ?? 0) * 100).toFixed(2)}% on ${test.rows} digits`);
  console.log(
    `privacy: (ε = ${privacy.epsilon.toFixed(2)}, δ = ${privacy.delta})-DP (RDP accountant, order ${privacy.order}, ${privacy.conversion} conversion, Poisson-sampling assumption)`,
  );
  const plain = await trainMnistNonPrivate({ epochs });
  console.log(`without privacy (same optimizer, batch and epochs): ${((plain.test.accuracy ?? 0) * 100).toFixed(2)}% test accuracy`);
}
