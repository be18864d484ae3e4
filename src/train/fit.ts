/**
 * The training loop: epochs over shuffled minibatches, validation after each epoch,
 * early stopping with restore-best, cancellation by AbortSignal, and an async iterator
 * of per-step and per-epoch metrics. `fit` drains the iterator and returns the result.
 *
 * Takes a trainer, a starting state, datasets and options; never mutates its inputs.
 */
import type { Dataset } from "../data/dataset.js";
import { epochBatches } from "../data/batches.js";
import { selectRows } from "../data/dataset.js";
import type { ParamValues } from "../nn/init.js";
import type { TensorValue } from "../../runtime/value.js";
import type { Trainer, TrainState } from "./trainer.js";
import type { Evaluator, FeedBuilder } from "./evaluate.js";
import { createProgressBar, type ProgressStream } from "./progress.js";
import { saveTrainState } from "./trainCheckpoint.js";
import { trainingCurvesSvg, type HistoryPoint } from "./chart.js";
import { writeFileAtomic } from "./checkpoint.js";

export interface EarlyStopping {
  /** Epochs without improvement of the validation loss before stopping. */
  readonly patience: number;
  /** Improvement smaller than this does not count (default 0). */
  readonly minDelta?: number;
  /** Return the params of the best epoch instead of the last (default true). */
  readonly restoreBest?: boolean;
}

export interface FitOptions {
  /** Total epochs; training resumes after `state.epoch`. */
  readonly epochs: number;
  readonly batchSize: number;
  readonly train: Dataset;
  readonly validation?: Dataset;
  /** Maps a batch to the model's input feeds (see `supervisedFeeds`). */
  readonly feeds: FeedBuilder;
  /** Evaluates the validation split each epoch. */
  readonly evaluator?: Evaluator;
  readonly earlyStopping?: EarlyStopping;
  /** Stops after the current step when aborted; the result says so. */
  readonly signal?: AbortSignal;
  /** The last, smaller batch of an epoch: "keep" (default) or "drop". */
  readonly lastBatch?: "keep" | "drop";
  /** Name of the step metric holding logits, for training accuracy (default "logits" when present). */
  readonly logitsMetric?: string;
}

export interface StepEvent {
  readonly kind: "step";
  readonly epoch: number;
  /** 1-based step within the epoch. */
  readonly stepInEpoch: number;
  readonly stepsInEpoch: number;
  /** Global step count. */
  readonly step: number;
  readonly loss: number;
  /** Batch accuracy, when the trainer has a logits metric and the data has classes. */
  readonly accuracy?: number;
  readonly stepsPerSecond: number;
  readonly learningRate: number;
}

export interface EpochEvent {
  readonly kind: "epoch";
  /** 1-based epoch number. */
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
  readonly seconds: number;
  /** True when this epoch has the best validation loss so far. */
  readonly best: boolean;
  /** The state at the end of this epoch (e.g. to checkpoint it). */
  readonly state: TrainState;
}

export type FitEvent = StepEvent | EpochEvent;

export interface FitResult {
  /** The final state (with the best params restored when early stopping asks for it). */
  readonly state: TrainState;
  readonly history: readonly EpochEvent[];
  readonly stoppedBy: "epochs" | "earlyStopping" | "aborted";
  readonly bestEpoch?: number;
}

const batchAccuracy = (logits: TensorValue | undefined, batch: Dataset): number | undefined => {
  if (logits === undefined || batch.targets.kind !== "classes" || logits.shape.length !== 2) return undefined;
  const [rows, classes] = [logits.shape[0]!, logits.shape[1]!];
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits.data[r * classes + c]! > logits.data[r * classes + best]!) best = c;
    if (best === batch.targets.indices[r]) correct++;
  }
  return correct / rows;
};

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains, yielding a `StepEvent` per step and an `EpochEvent` per epoch; returns the
 * `FitResult` when done.
 * @example
 * for await (const e of fitIter(trainer, state, options)) if (e.kind === "epoch") console.log(e);
 */
export async function* fitIter(trainer: Trainer, start: TrainState, options: FitOptions): AsyncGenerator<FitEvent, FitResult, undefined> {
  const history: EpochEvent[] = [];
  const logitsName = options.logitsMetric ?? (trainer.stepGraph.metricNames.includes("logits") ? "logits" : undefined);
  let state = start;
  // The state before the current one is never read again, unless it was handed out (the
  // start state, epoch events, the best params): its arrays then take the next step's
  // outputs instead of new ones, which keeps long runs from churning memory.
  const exposed = new WeakSet<ArrayBufferLike>();
  const expose = (s: TrainState): TrainState => {
    for (const v of [...Object.values(s.params), ...Object.values(s.optimizer)]) exposed.add(v.data.buffer);
    return s;
  };
  const recyclable = (s: TrainState | undefined): Record<string, TensorValue> | undefined => {
    if (s === undefined) return undefined;
    const out: Record<string, TensorValue> = {};
    for (const [k, v] of [...Object.entries(s.params), ...Object.entries(s.optimizer)]) if (!exposed.has(v.data.buffer)) out[k] = v;
    return out;
  };
  let previous: TrainState | undefined;
  expose(start);
  let best: { loss: number; epoch: number; params: ParamValues } | undefined;
  let sinceBest = 0;
  let lastYield = performance.now();
  // `epochs` is the total: a state resumed after epoch 3 of 10 trains epochs 4..10.
  for (let epoch = start.epoch + 1; epoch <= options.epochs; epoch++) {
    const t0 = performance.now();
    const plan = epochBatches(options.train.features.rows, state.rng, {
      batchSize: options.batchSize,
      ...(options.lastBatch === undefined ? {} : { lastBatch: options.lastBatch }),
    }, options.train.source);
    let lossSum = 0;
    let accSum = 0;
    let accRows = 0;
    let rows = 0;
    for (const [i, indices] of plan.batches.entries()) {
      if (options.signal?.aborted === true) return { state, history, stoppedBy: "aborted", ...bestEpochOf(best) };
      const batch = selectRows(options.train, indices);
      const r = trainer.trainStep(state, options.feeds(batch), { recycle: recyclable(previous) });
      previous = state;
      state = r.state;
      const n = indices.length;
      lossSum += r.loss * n;
      rows += n;
      const acc = batchAccuracy(logitsName === undefined ? undefined : r.metrics[logitsName], batch);
      if (acc !== undefined) {
        accSum += acc * n;
        accRows += n;
      }
      const elapsed = (performance.now() - t0) / 1000;
      yield {
        kind: "step",
        epoch,
        stepInEpoch: i + 1,
        stepsInEpoch: plan.batches.length,
        step: state.step,
        loss: r.loss,
        ...(acc === undefined ? {} : { accuracy: acc }),
        stepsPerSecond: (i + 1) / Math.max(elapsed, 1e-9),
        learningRate: trainer.learningRateAt(state.step),
      };
      if (performance.now() - lastYield > 50) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    state = expose({ ...state, epoch, rng: plan.rng });
    const val = options.validation !== undefined && options.evaluator !== undefined ? options.evaluator.evaluate(state.params, options.validation) : undefined;
    const minDelta = options.earlyStopping?.minDelta ?? 0;
    const improved = val !== undefined && (best === undefined || val.loss < best.loss - minDelta);
    if (val !== undefined && improved) {
      best = { loss: val.loss, epoch, params: state.params };
      sinceBest = 0;
    } else if (val !== undefined) sinceBest++;
    const event: EpochEvent = {
      kind: "epoch",
      epoch,
      trainLoss: lossSum / rows,
      ...(accRows > 0 ? { trainAccuracy: accSum / accRows } : {}),
      ...(val === undefined ? {} : { validationLoss: val.loss }),
      ...(val?.accuracy === undefined ? {} : { validationAccuracy: val.accuracy }),
      seconds: (performance.now() - t0) / 1000,
      best: improved,
      state,
    };
    history.push(event);
    yield event;
    const stop = options.earlyStopping;
    if (stop !== undefined && sinceBest >= stop.patience) {
      const restored = stop.restoreBest !== false && best !== undefined ? { ...state, params: best.params } : state;
      return { state: restored, history, stoppedBy: "earlyStopping", ...bestEpochOf(best) };
    }
  }
  const restore = options.earlyStopping !== undefined && options.earlyStopping.restoreBest !== false && best !== undefined;
  return { state: restore ? { ...state, params: best!.params } : state, history, stoppedBy: "epochs", ...bestEpochOf(best) };
}

const bestEpochOf = (best: { epoch: number } | undefined): { bestEpoch?: number } => (best === undefined ? {} : { bestEpoch: best.epoch });

export interface FitExtras {
  /** Sees every step and epoch event. */
  readonly onEvent?: (e: FitEvent) => void;
  /** Draws a progress bar on this stream when it is a TTY outside CI (e.g. `process.stderr`). */
  readonly progress?: ProgressStream;
  /** Saves the state atomically after every epoch and when training stops (also when aborted). */
  readonly checkpoint?: { readonly path: string; readonly metadata?: Readonly<Record<string, string>> };
  /** Writes the loss/accuracy curves (train and validation, per epoch) to this SVG file when training ends. */
  readonly curves?: string;
}

/** The per-epoch history as chart points. */
export const historyPoints = (history: readonly EpochEvent[]): HistoryPoint[] =>
  history.map((e) => ({
    x: e.epoch,
    loss: e.trainLoss,
    ...(e.trainAccuracy === undefined ? {} : { accuracy: e.trainAccuracy }),
    ...(e.validationLoss === undefined ? {} : { validationLoss: e.validationLoss }),
    ...(e.validationAccuracy === undefined ? {} : { validationAccuracy: e.validationAccuracy }),
  }));

/**
 * Trains to the end (or until stopped) and returns the result.
 * @example const { state, history } = await fit(trainer, trainer.init(0), { epochs: 10, batchSize: 64, train, feeds });
 */
export const fit = async (trainer: Trainer, start: TrainState, options: FitOptions, extras: FitExtras | ((e: FitEvent) => void) = {}): Promise<FitResult> => {
  const { onEvent, progress, checkpoint, curves } =
    typeof extras === "function" ? { onEvent: extras, progress: undefined, checkpoint: undefined, curves: undefined } : extras;
  const rows = options.train.features.rows;
  const stepsPerEpoch = options.lastBatch === "drop" ? Math.floor(rows / options.batchSize) : Math.ceil(rows / options.batchSize);
  const bar = progress === undefined ? undefined : createProgressBar({ epochs: options.epochs, stepsPerEpoch, stream: progress });
  const save = (state: TrainState): void => {
    if (checkpoint !== undefined) saveTrainState(checkpoint.path, trainer, state, checkpoint.metadata);
  };
  const it = fitIter(trainer, start, options);
  try {
    for (;;) {
      const next = await it.next();
      if (next.done === true) {
        save(next.value.state);
        if (curves !== undefined) writeFileAtomic(curves, new TextEncoder().encode(trainingCurvesSvg(historyPoints(next.value.history), { xLabel: "epoch" })));
        return next.value;
      }
      const e = next.value;
      if (e.kind === "step") bar?.step({ epoch: e.epoch, step: e.stepInEpoch, loss: e.loss, ...(e.accuracy === undefined ? {} : { accuracy: e.accuracy }) });
      else {
        bar?.endEpoch({
          epoch: e.epoch,
          loss: e.trainLoss,
          ...(e.trainAccuracy === undefined ? {} : { accuracy: e.trainAccuracy }),
          ...(e.validationLoss === undefined ? {} : { validationLoss: e.validationLoss }),
          ...(e.validationAccuracy === undefined ? {} : { validationAccuracy: e.validationAccuracy }),
        });
        save(e.state);
      }
      onEvent?.(e);
    }
  } finally {
    bar?.close();
  }
};
