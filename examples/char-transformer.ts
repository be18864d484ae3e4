/**
 * A character-level causal Transformer language model on Jane Austen's *Persuasion*
 * (public domain, `data/persuasion.txt`; see `data/README.md`): token and position
 * embeddings, pre-norm Transformer blocks with causal multi-head attention, GELU MLPs,
 * residual connections and dropout, a final layer norm and a linear read-out.
 *
 * The first 90% of the text trains, the last 10% validates. Reports validation bits per
 * character next to the unigram baseline (the entropy of the training text's character
 * frequencies, measured on the validation text), and prints a sample. Progress bar and a
 * checkpoint per epoch.
 *
 * Run: npx tsx examples/char-transformer.ts [epochs] [checkpoint path, default out/char-transformer.ckpt]
 */
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as path from "node:path";
import {
  adam, compile, cosineSchedule, createTrainer, dense, embedding, input, layers, add, matmul, param, rngFromSeed, softmaxCrossEntropy, stepKey, sym,
  tensorValue, withRng, buildGraph, type Mode, type ParamValues,
} from "../src/index.js";
import { createEvaluator, type FeedBuilder } from "../src/train/evaluate.js";
import { fit, type FitEvent } from "../src/train/fit.js";
import type { Dataset } from "../src/data/dataset.js";
import type { ProgressStream } from "../src/train/progress.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const TEXT_PATH = path.join(here, "..", "data", "persuasion.txt");

/** Characters of context. */
export const CONTEXT = 64;
export const DIM = 64;
export const HEADS = 4;
export const BLOCKS = 2;
export const DROPOUT = 0.1;

export const text = readFileSync(TEXT_PATH, "utf8");
/** The vocabulary: every distinct character, sorted. */
export const vocab = [...new Set(text)].sort();
const VOCAB = vocab.length;
const indexOf = new Map(vocab.map((c, i) => [c, i]));
export const encode = (s: string): Int32Array => Int32Array.from(s, (c) => indexOf.get(c) ?? 0);

const batch = sym("batch");
export const tokens = input("tokens", [batch, CONTEXT], "i32");
export const targets = input("targets", [batch, CONTEXT], "i32");

export const params = {
  tokenEmbedding: layers.embedding.init("tokens", VOCAB, DIM),
  positions: param("positions", [CONTEXT, DIM] as const, "f32", { kind: "normal", mean: 0, std: 0.02 }),
  blocks: Array.from({ length: BLOCKS }, (_, i) => layers.transformerBlock.init(`block${i}`, DIM, { heads: HEADS })),
  finalNorm: layers.layerNorm.init("finalNorm", DIM),
  readout: dense.init("readout", DIM, VOCAB),
};

/** Next-character logits [batch, CONTEXT, vocab] in a mode. */
export const languageModel = (mode: Mode) => {
  let h = add(embedding(params.tokenEmbedding.table, tokens), params.positions); // [batch, 64, 64]
  for (const block of params.blocks) h = layers.transformerBlock(block, mode, { causal: true, dropout: DROPOUT })(h);
  const normed = layers.layerNorm(params.finalNorm)(h);
  return add(matmul(normed, params.readout.W), params.readout.b); // [batch, 64, vocab]
};

export const trainLogits = languageModel({ training: true, key: stepKey() });
export const evalLogits = languageModel({ training: false });
export const loss = softmaxCrossEntropy(trainLogits, targets);
export const evalLoss = softmaxCrossEntropy(evalLogits, targets);

/** Windows of CONTEXT + 1 characters starting every `stride` characters of `ids`, as a dataset (features: character ids). */
export const windows = (ids: Int32Array, stride: number, source: string): Dataset<Float32Array> => {
  const starts = Array.from({ length: Math.floor((ids.length - CONTEXT - 1) / stride) + 1 }, (_, i) => i * stride);
  const cols = CONTEXT + 1;
  const data = new Float32Array(starts.length * cols);
  starts.forEach((s, r) => data.set(ids.subarray(s, s + cols), r * cols));
  return {
    features: { rows: starts.length, cols, data },
    featureNames: Array.from({ length: cols }, (_, i) => `c${i}`),
    targets: { kind: "classes", indices: Int32Array.from(starts, (s) => ids[s + CONTEXT]!), classNames: vocab },
    sourceRows: Int32Array.from(starts, (_, i) => i + 1),
    source,
  };
};

/** Feeds: the first CONTEXT characters of each window are the tokens, the last CONTEXT the targets. */
export const windowFeeds: FeedBuilder = (b) => {
  const rows = b.features.rows;
  const cols = CONTEXT + 1;
  const t = new Int32Array(rows * CONTEXT);
  const y = new Int32Array(rows * CONTEXT);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < CONTEXT; i++) {
      t[r * CONTEXT + i] = b.features.data[r * cols + i]!;
      y[r * CONTEXT + i] = b.features.data[r * cols + i + 1]!;
    }
  }
  return { tokens: { dtype: "i32", shape: [rows, CONTEXT], data: t }, targets: { dtype: "i32", shape: [rows, CONTEXT], data: y } };
};

/** Bits per character of the unigram model fitted on `train`, measured on `test` (add-one smoothing). */
export const unigramBits = (train: Int32Array, test: Int32Array): number => {
  const counts = new Float64Array(VOCAB).fill(1);
  for (const c of train) counts[c]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0;
  for (const c of test) bits -= Math.log2(counts[c]! / total);
  return bits / test.length;
};

/** Samples `length` characters after `prompt` with the evaluation graph (temperature-scaled softmax, seeded). */
export const sample = (values: ParamValues, prompt: string, length: number, seed = 1, temperature = 0.8): string => {
  const program = compile(buildGraph({ logits: evalLogits }, "sampler"), { allowExtraFeeds: true });
  const ids = Array.from(encode(prompt));
  return withRng(rngFromSeed(seed), (r) => {
    for (let n = 0; n < length; n++) {
      const window = ids.slice(-CONTEXT);
      const at = window.length - 1;
      while (window.length < CONTEXT) window.push(0);
      const logits = program.runNamed({ ...values, tokens: tensorValue("i32", [1, CONTEXT], window) }).logits!.data;
      const row = Array.from(logits.subarray(at * VOCAB, (at + 1) * VOCAB), (v) => v / temperature);
      const top = Math.max(...row);
      const weights = row.map((v) => Math.exp(v - top));
      let u = r.nextFloat() * weights.reduce((a, b) => a + b, 0);
      let pick = 0;
      while (pick < VOCAB - 1 && u >= weights[pick]!) u -= weights[pick++]!;
      ids.push(pick);
    }
    return ids.slice(-length).map((i) => vocab[i]).join("");
  })[0];
};

export interface CharRunOptions {
  readonly epochs?: number;
  /** Use only the first `chars` characters of the text (for quick runs). */
  readonly chars?: number;
  /** Characters between the starts of training windows (default CONTEXT). */
  readonly stride?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly onEvent?: (e: FitEvent) => void;
  readonly progress?: ProgressStream;
  readonly checkpoint?: string;
}

/** Trains the language model; returns the result, validation bits per character and the unigram baseline. */
export const trainCharTransformer = async (options: CharRunOptions = {}) => {
  const ids = encode(options.chars === undefined ? text : text.slice(0, options.chars));
  const split = Math.floor(ids.length * 0.9);
  const [trainIds, validIds] = [ids.subarray(0, split), ids.subarray(split)];
  const train = windows(trainIds, options.stride ?? CONTEXT, "persuasion.txt (train)");
  const validation = windows(validIds, CONTEXT, "persuasion.txt (validation)");
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 32;
  const totalSteps = epochs * Math.ceil(train.features.rows / batchSize);
  const trainer = createTrainer({
    loss,
    params,
    optimizer: adam(),
    learningRate: cosineSchedule(3e-3, totalSteps, 1e-4),
    clipNorm: 1,
    name: "charTransformerStep",
  });
  const evaluator = createEvaluator({ loss: evalLoss, feeds: windowFeeds });
  const result = await fit(trainer, trainer.init(options.seed ?? 0), { epochs, batchSize, train, validation, evaluator, feeds: windowFeeds }, {
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.progress === undefined ? {} : { progress: options.progress }),
    ...(options.checkpoint === undefined ? {} : { checkpoint: { path: options.checkpoint } }),
  });
  const validationBits = evaluator.evaluate(result.state.params, validation, 64).loss / Math.LN2;
  return { result, trainer, validationBits, unigramBits: unigramBits(trainIds, validIds.subarray(0, validation.features.rows * CONTEXT + 1)) };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const epochs = Number(process.argv[2] ?? 10);
  const checkpoint = process.argv[3] ?? "out/char-transformer.ckpt";
  mkdirSync(path.dirname(checkpoint), { recursive: true });
  const { result, validationBits, unigramBits: baseline } = await trainCharTransformer({
    epochs,
    checkpoint,
    progress: process.stderr,
    onEvent: (e) => {
      if (e.kind === "epoch")
        console.log(`epoch ${e.epoch}: train ${(e.trainLoss / Math.LN2).toFixed(3)} bits/char, validation ${((e.validationLoss ?? NaN) / Math.LN2).toFixed(3)} bits/char, ${e.seconds.toFixed(1)} s`);
    },
  });
  console.log(`validation: ${validationBits.toFixed(3)} bits per character (unigram baseline ${baseline.toFixed(3)})`);
  console.log(`sample:\n${sample(result.state.params, "Anne", 400)}`);
}
