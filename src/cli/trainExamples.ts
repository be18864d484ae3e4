/**
 * The example models that `typegrad train` and `typegrad export` know: seed (the 2-4-1
 * network), iris and mnist. Each entry loads its example file (examples/*.ts, imported on
 * demand so other commands stay fast) and its data, and says how it trains: optimizer,
 * learning rate, batch size, epochs, and which outputs an exported model has.
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Op } from "../ops.js";
import { buildGraph } from "../graph/graph.js";
import { wrap, type AnyTensor } from "../tensor.js";
import type { Dataset } from "../data/dataset.js";
import { makeDataset, toFloat32 } from "../data/dataset.js";
import { loadIris, loadMnist } from "../data/builtin.js";
import { splitDataset } from "../data/split.js";
import { scaleSplits } from "../data/preprocess.js";
import { adam, cosineSchedule, sgd, type Optimizer, type Schedule } from "../train/optimizers.js";
import { createEvaluator, supervisedFeeds, type Evaluator, type FeedBuilder } from "../train/evaluate.js";
import { CliError } from "./errors.js";
import { importModuleFile } from "./loadModule.js";

/** Everything needed to train and export one example. */
export interface PreparedExample {
  readonly loss: AnyTensor;
  readonly params: unknown;
  readonly optimizer: Optimizer;
  readonly learningRate: number | Schedule;
  readonly metrics: Readonly<Record<string, AnyTensor>>;
  readonly batchSize: number;
  readonly epochs: number;
  readonly train: Dataset;
  readonly validation: Dataset | undefined;
  readonly test: Dataset | undefined;
  readonly feeds: FeedBuilder;
  readonly evaluator: Evaluator | undefined;
  /** The outputs of the exported (inference) model. */
  readonly inference: Readonly<Record<string, AnyTensor>>;
}

export interface ExampleOptions {
  readonly seed: number;
  /** Training rows (mnist only; default 8000). */
  readonly rows?: number;
  /** Epochs planned (for schedules that span the run). */
  readonly epochs?: number;
}

export interface TrainExample {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly prepare: (options: ExampleOptions) => Promise<PreparedExample>;
}

// src/cli -> repository root (dist/src/cli when built).
const here = dirname(fileURLToPath(import.meta.url));
const twoUp = join(here, "..", "..");
const root = basename(twoUp) === "dist" ? dirname(twoUp) : twoUp;
const exampleFile = (name: string): string => join(root, "examples", name);

const tensorExport = (mod: Record<string, unknown>, key: string, file: string): AnyTensor => {
  const v = mod[key];
  if (typeof v !== "object" || v === null || !("node" in v)) throw new CliError(`${file} does not export the tensor '${key}'`);
  return v as AnyTensor;
};

/** The input tensor named `name` among the leaves of `loss`. */
const inputOf = (loss: AnyTensor, name: string): AnyTensor => {
  const node = buildGraph(loss).nodes.find((n) => n.op === Op.Input && n.params.name === name);
  if (node === undefined) throw new CliError(`the example's loss has no input '${name}'`);
  return wrap(node);
};

const seed: TrainExample = {
  name: "seed",
  description: "the textbook 2-4-1 MLP (tanh, MSE) on two points, plain gradient descent",
  file: "examples/seed-mlp.ts",
  prepare: async () => {
    const file = exampleFile("seed-mlp.ts");
    const mod = await importModuleFile(file);
    const loss = tensorExport(mod, "loss", file);
    const model = mod.model as (x: AnyTensor) => AnyTensor;
    const x = inputOf(loss, "x");
    const y = inputOf(loss, "y");
    const train = makeDataset({ features: [[1, 0], [-1, 0]], labels: [[1], [-1]], source: "seed" });
    return {
      loss, params: mod.params, optimizer: sgd(), learningRate: 0.1, metrics: {}, batchSize: 2, epochs: 100,
      train: toFloat32(train), validation: undefined, test: undefined, feeds: supervisedFeeds(x, y), evaluator: undefined,
      inference: { y: model(x) },
    };
  },
};

const iris: TrainExample = {
  name: "iris",
  description: "Iris flowers, a 4-16-3 MLP with Adam (stratified splits, standardized)",
  file: "examples/iris.ts",
  prepare: async ({ seed: s }) => {
    const file = exampleFile("iris.ts");
    const mod = await importModuleFile(file);
    const loss = tensorExport(mod, "loss", file);
    const logits = tensorExport(mod, "logits", file);
    const feeds = supervisedFeeds(inputOf(loss, "x"), inputOf(loss, "labels"));
    const splits = scaleSplits(splitDataset(toFloat32(loadIris()), { test: 0.3, validation: 0.2, stratify: true, seed: s }), "standardize");
    return {
      loss, params: mod.params, optimizer: adam(), learningRate: 0.01, metrics: { logits }, batchSize: 16, epochs: 60,
      train: splits.train, validation: splits.validation, test: splits.test, feeds, evaluator: createEvaluator({ loss, logits, feeds }),
      inference: { logits },
    };
  },
};

const mnist: TrainExample = {
  name: "mnist",
  description: "MNIST digits, a 784-256-256-10 ReLU MLP with Adam and cosine decay",
  file: "examples/mnist-mlp.ts",
  prepare: async ({ seed: s, rows, epochs }) => {
    const file = exampleFile("mnist-mlp.ts");
    const mod = await importModuleFile(file);
    const loss = tensorExport(mod, "loss", file);
    const logits = tensorExport(mod, "logits", file);
    const feeds = supervisedFeeds(tensorExport(mod, "x", file), tensorExport(mod, "labels", file));
    const trainRows = rows ?? 8000;
    const data = loadMnist({ train: trainRows, test: 2000, validation: 0, seed: s });
    const total = (epochs ?? 12) * Math.ceil(trainRows / 64);
    return {
      loss, params: mod.params, optimizer: adam(), learningRate: cosineSchedule(2e-3, total, 4e-5), metrics: { logits }, batchSize: 64, epochs: 12,
      train: data.train, validation: undefined, test: data.test, feeds, evaluator: createEvaluator({ loss, logits, feeds }),
      inference: { logits },
    };
  },
};

export const TRAIN_EXAMPLES: readonly TrainExample[] = [seed, iris, mnist];

/** The example named `name`, or a CliError listing the known ones. */
export const exampleNamed = (name: string): TrainExample => {
  const found = TRAIN_EXAMPLES.find((e) => e.name === name);
  if (found === undefined) throw new CliError(`unknown example '${name}': the examples are ${TRAIN_EXAMPLES.map((e) => e.name).join(", ")}`);
  return found;
};
