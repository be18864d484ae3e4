/**
 * Why did the MNIST MLP say "7"? For a few held-out test digits, the attributions of the
 * predicted class — integrated gradients (64 steps from a black image), gradient × input
 * and the gradient itself — drawn next to each digit in out/explain-mnist.svg (red pixels
 * speak for the class, blue against it), with integrated gradients' completeness error.
 *
 * The params come from out/mnist-mlp.safetensors when `npm start` wrote it (and it fits
 * this model); otherwise the MLP is trained here first.
 *
 * Run: npx tsx examples/explain-mnist.ts [digits]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { argmax, buildGraph, initParams, supervisedFeeds, CheckpointError, loadCheckpoint, specsOf, type ParamValues } from "../src/index.js";
import { integratedGradients, gradientTimesInput, saliency } from "../src/explain/attributions.js";
import { attributionGridSvg } from "../src/explain/svg.js";
import { loadMnist, MNIST_SIDE } from "../src/data/builtin.js";
import { sliceRows } from "../src/train/evaluate.js";
import { makeRunner } from "../src/train/runner.js";
import { logits, params, trainMnistMlp, x, labels } from "./mnist-mlp.js";

export interface ExplainMnistOptions {
  /** Test digits to explain (default 6). */
  readonly digits?: number;
  /** Checkpoint to load the params from (default out/mnist-mlp.safetensors); trained here when missing. */
  readonly checkpoint?: string;
  /** When training here: epochs and training digits (defaults 3 and 8,000). */
  readonly epochs?: number;
  readonly train?: number;
  /** Points on the integrated-gradients path (default 64). */
  readonly steps?: number;
  /** Where to write the SVG (default out/explain-mnist.svg; null: do not write). */
  readonly out?: string | null;
}

export interface DigitExplanation {
  readonly label: number;
  readonly predicted: number;
  /** F(x) - F(baseline): the predicted class's logit, minus its value on a black image. */
  readonly gap: number;
  /** |Σ attributions - gap| / |gap|. */
  readonly completenessError: number;
}

/** Params from the checkpoint when it fits the model, else undefined. */
const paramsFromCheckpoint = (path: string): ParamValues | undefined => {
  const [like] = initParams(params, 0);
  try {
    return Object.fromEntries(loadCheckpoint(path, { params: specsOf(new Map(Object.entries(like))) }).params);
  } catch (e) {
    if (e instanceof CheckpointError) return undefined;
    throw e;
  }
};

/** Explains the first test digits; returns the SVG, each digit's figures and where the params came from. */
export const explainMnist = async (options: ExplainMnistOptions = {}) => {
  const checkpoint = options.checkpoint ?? join("out", "mnist-mlp.safetensors");
  const loaded = paramsFromCheckpoint(checkpoint);
  const values = loaded ?? (await trainMnistMlp({ epochs: options.epochs ?? 3, train: options.train ?? 8000, test: 1 })).result.state.params;
  // The same split as the training run (seed 0): these test digits were never trained on.
  const { test } = loadMnist({ train: 8000, test: 2000, seed: 0 });
  const digits = sliceRows(test, 0, options.digits ?? 6);

  const predicted = argmax(logits, -1);
  const spec = { output: logits, input: x, target: predicted } as const;
  const ig = integratedGradients(spec, { steps: options.steps ?? 64 });
  const graph = buildGraph(
    { predicted, ig: ig.attributions, delta: ig.delta, fx: ig.output, fb: ig.baselineOutput, gradientTimesInput: gradientTimesInput(spec), gradient: saliency(spec) },
    "explainMnist",
  );
  const out = makeRunner(graph).run({ ...values, ...supervisedFeeds(x, labels)(digits) });

  const pixels = MNIST_SIDE * MNIST_SIDE;
  const rows = Array.from({ length: digits.features.rows }, (_, r) => {
    const at = (name: string): Float32Array => (out[name]!.data as Float32Array).subarray(r * pixels, (r + 1) * pixels);
    const label = digits.targets.kind === "classes" ? digits.targets.indices[r]! : -1;
    const guess = out.predicted!.data[r]!;
    const gap = out.fx!.data[r]! - out.fb!.data[r]!;
    const explanation: DigitExplanation = { label, predicted: guess, gap, completenessError: Math.abs(out.delta!.data[r]!) / Math.abs(gap) };
    return { explanation, row: { image: digits.features.data.subarray(r * pixels, (r + 1) * pixels), maps: [at("ig"), at("gradientTimesInput"), at("gradient")], label: `${label} (predicted ${guess})` } };
  });
  const svg = attributionGridSvg(
    rows.map((r) => r.row),
    {
      height: MNIST_SIDE,
      width: MNIST_SIDE,
      mapTitles: ["integrated gradients", "gradient × input", "gradient"],
      title: "MNIST MLP: evidence for the predicted class",
    },
  );
  const target = options.out === undefined ? join("out", "explain-mnist.svg") : options.out;
  if (target !== null) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, svg);
  }
  return { svg, digits: rows.map((r) => r.explanation), source: loaded === undefined ? ("trained" as const) : ("checkpoint" as const), written: target };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { digits, source, written } = await explainMnist({ digits: Number(process.argv[2] ?? 6) });
  console.log(source === "checkpoint" ? "params from out/mnist-mlp.safetensors" : "no usable checkpoint under out/: trained the MLP here (npm start writes one)");
  for (const d of digits)
    console.log(`digit ${d.label}, predicted ${d.predicted}: F(x) - F(black) = ${d.gap.toFixed(3)}, integrated gradients sum off by ${(100 * d.completenessError).toFixed(3)}%`);
  console.log(`worst completeness error at 64 steps: ${(100 * Math.max(...digits.map((d) => d.completenessError))).toFixed(3)}%`);
  if (written !== null) console.log(`wrote ${written}`);
}
