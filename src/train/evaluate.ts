/**
 * Evaluation on a whole dataset: mean loss, and for classifiers accuracy and the
 * predicted classes, computed in batches by one program over the model's forward graph.
 * Also the mapping from dataset batches to feeds.
 */
import { Op } from "../ops.js";
import type { AnyTensor } from "../tensor.js";
import { buildGraph } from "../graph/graph.js";
import { argmax } from "../dsl/reduce.js";
import type { ParamValues } from "../nn/init.js";
import type { Dataset } from "../data/dataset.js";
import { allocate, type TensorValue } from "../../runtime/value.js";
import { makeRunner, type RunnerOptions } from "./runner.js";

/** Maps a batch of a dataset to the feeds of the model's inputs. */
export type FeedBuilder = (batch: Dataset) => Record<string, TensorValue>;

const leafName = (t: AnyTensor, role: string): string => {
  const n = t.node;
  if (n.op !== Op.Input) throw new Error(`supervisedFeeds: the ${role} must be an input(...) tensor, got ${n.op}`);
  return n.params.name;
};

/**
 * Feeds for a supervised model: the batch's features go to `features` (shape
 * `[batch, cols]` or any shape with the same element count per row, in its dtype) and its
 * targets to `targets` (class indices as i32 `[batch]`, or values `[batch, k]`).
 * @example const feeds = supervisedFeeds(x, labels); trainer.trainStep(state, feeds(batch));
 */
export const supervisedFeeds = (features: AnyTensor, targets: AnyTensor): FeedBuilder => {
  const xName = leafName(features, "features input");
  const yName = leafName(targets, "targets input");
  const xShape = features.node.shape;
  const xDtype = features.node.dtype;
  const yDtype = targets.node.dtype;
  return (batch) => {
    const rows = batch.features.rows;
    const shape = xShape.map((d, i) => (i === 0 ? rows : typeof d === "number" ? d : batch.features.cols));
    const x = allocate(xDtype, batch.features.data.length);
    x.set(batch.features.data);
    let y: TensorValue;
    if (batch.targets.kind === "classes") {
      y = { dtype: "i32", shape: [rows], data: batch.targets.indices };
    } else {
      const data = allocate(yDtype, batch.targets.values.data.length);
      data.set(batch.targets.values.data);
      y = { dtype: yDtype, shape: [rows, batch.targets.values.cols], data };
    }
    return { [xName]: { dtype: xDtype, shape, data: x }, [yName]: y };
  };
};

export interface EvaluationResult {
  readonly loss: number;
  /** Fraction of correct class predictions (classifiers only). */
  readonly accuracy?: number;
  /** Predicted class per row (classifiers only). */
  readonly predictions?: Int32Array;
  readonly rows: number;
}

export interface Evaluator {
  readonly evaluate: (params: ParamValues, data: Dataset, batchSize?: number) => EvaluationResult;
}

/**
 * An evaluator of `loss` (and, given `logits`, accuracy) over datasets in batches.
 * @example const ev = createEvaluator({ loss, logits, feeds }); ev.evaluate(state.params, test);
 */
export const createEvaluator = (spec: {
  readonly loss: AnyTensor;
  readonly logits?: AnyTensor;
  readonly feeds: FeedBuilder;
  readonly runner?: RunnerOptions;
}): Evaluator => {
  const outputs: Record<string, AnyTensor> = { loss: spec.loss };
  if (spec.logits !== undefined) outputs.predicted = argmax(spec.logits, -1);
  const runner = makeRunner(buildGraph(outputs, "evaluate"), spec.runner);
  return {
    evaluate: (params, data, batchSize = 500) => {
      const rows = data.features.rows;
      if (rows === 0) throw new Error(`evaluate: dataset ${data.source} is empty`);
      let lossSum = 0;
      let correct = 0;
      const predictions = spec.logits === undefined ? undefined : new Int32Array(rows);
      for (let start = 0; start < rows; start += batchSize) {
        const end = Math.min(rows, start + batchSize);
        const batch = sliceRows(data, start, end);
        const out = runner.run({ ...params, ...spec.feeds(batch) });
        lossSum += out.loss!.data[0]! * (end - start);
        if (predictions !== undefined) {
          const pred = out.predicted!.data;
          predictions.set(pred, start);
          if (batch.targets.kind === "classes") for (let i = 0; i < pred.length; i++) if (pred[i] === batch.targets.indices[i]) correct++;
        }
      }
      return {
        loss: lossSum / rows,
        rows,
        ...(predictions === undefined ? {} : { predictions, accuracy: correct / rows }),
      };
    },
  };
};

/** Rows [start, end) of a dataset, as views where possible. */
export const sliceRows = (ds: Dataset, start: number, end: number): Dataset => {
  const cols = ds.features.cols;
  return {
    ...ds,
    features: { rows: end - start, cols, data: ds.features.data.subarray(start * cols, end * cols) },
    targets:
      ds.targets.kind === "classes"
        ? { ...ds.targets, indices: ds.targets.indices.subarray(start, end) }
        : {
            ...ds.targets,
            values: { ...ds.targets.values, rows: end - start, data: ds.targets.values.data.subarray(start * ds.targets.values.cols, end * ds.targets.values.cols) },
          },
    sourceRows: ds.sourceRows.subarray(start, end),
  };
};
