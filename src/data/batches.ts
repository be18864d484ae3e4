/**
 * Minibatches for one epoch: a seeded permutation of the rows cut into batches.
 *
 * Takes a row count or a dataset, a batch size and an RNG state; guarantees every row
 * appears in exactly one batch per epoch (or is in the dropped partial batch), the same
 * batches for the same state, and the next RNG state to use for the next epoch.
 */
import type { RngState } from "../random.js";
import { permutation } from "../random.js";
import { dataFail, selectRows, type Dataset, type FloatArray } from "./dataset.js";

export interface BatchOptions {
  readonly batchSize: number;
  /** Shuffle the rows (default true); false keeps row order and draws nothing from the RNG. */
  readonly shuffle?: boolean;
  /** The last, smaller batch: "keep" it (default) or "drop" it. */
  readonly lastBatch?: "keep" | "drop";
}

export interface EpochBatches {
  /** Row positions of each batch (views into one permutation). */
  readonly batches: readonly Int32Array[];
  /** The RNG state after this epoch's shuffle: pass it to the next epoch. */
  readonly rng: RngState;
}

/**
 * The index batches of one epoch over `rows` rows.
 *
 * @example
 * let rng = rngFromSeed(0);
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   const plan = epochBatches(150, rng, { batchSize: 32 });
 *   rng = plan.rng;
 *   for (const indices of plan.batches) { ... }
 * }
 */
export const epochBatches = (rows: number, rng: RngState, options: BatchOptions, source = "dataset"): EpochBatches => {
  const { batchSize } = options;
  if (!Number.isInteger(rows) || rows < 1) dataFail(source, `cannot make batches from ${rows} rows: the dataset is empty`);
  if (!Number.isInteger(batchSize) || batchSize < 1) dataFail(source, `the batch size must be a positive integer, got ${batchSize}`);
  if (batchSize > rows) dataFail(source, `the batch size ${batchSize} is larger than the dataset (${rows} rows)`);
  const [order, next] = options.shuffle === false ? [Int32Array.from({ length: rows }, (_, i) => i), rng] : permutation(rng, rows);
  const full = Math.floor(rows / batchSize);
  const count = options.lastBatch === "drop" || rows % batchSize === 0 ? full : full + 1;
  const batches = Array.from({ length: count }, (_, b) => order.subarray(b * batchSize, Math.min(rows, (b + 1) * batchSize)));
  return { batches, rng: next };
};

export interface DatasetBatches<A extends FloatArray> {
  /** Each batch as a small dataset (features, targets and source rows of its rows); gathered lazily. */
  readonly batches: Iterable<Dataset<A>>;
  readonly count: number;
  readonly rng: RngState;
}

/**
 * The gathered minibatches of one epoch over a dataset.
 *
 * @example
 * const { batches, rng: next } = minibatches(train, rng, { batchSize: 64 });
 * for (const batch of batches) step(batch.features.data, batch.targets);
 */
export const minibatches = <A extends FloatArray>(ds: Dataset<A>, rng: RngState, options: BatchOptions): DatasetBatches<A> => {
  const plan = epochBatches(ds.features.rows, rng, options, ds.source);
  return {
    batches: {
      *[Symbol.iterator]() {
        for (const indices of plan.batches) yield selectRows(ds, indices);
      },
    },
    count: plan.batches.length,
    rng: plan.rng,
  };
};
