/**
 * Timing for the benchmark: interleaved rounds in one process, medians, and table
 * formatting. The machine is shared and noisy, so every implementation of a case is
 * timed once per round, in turn, and the figure reported is the median over rounds;
 * ratios between columns come from the same run.
 */

/** Something to time: `run` does one unit of work (a matmul, a training step). */
export interface Contender {
  readonly label: string;
  /** Called once before timing (compile, warm-up); may be async (backend switches). */
  readonly prepare?: () => Promise<void> | void;
  /** Synchronous work, or a promise for engines with an async API (awaited inside the timing). */
  readonly run: () => void | Promise<void>;
  /** Called after the case (frees peer tensors). */
  readonly dispose?: () => void;
}

export interface Timing {
  readonly label: string;
  /** Median seconds per unit of work over rounds. */
  readonly seconds: number;
  readonly samples: readonly number[];
}

const now = (): number => performance.now() / 1000;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface MeasureOptions {
  readonly rounds: number;
  /** Minimum wall time of one timed batch, in seconds (repetitions are chosen to reach it). */
  readonly minBatchSeconds: number;
}

/** Warm-up calls per contender: at least this many, and for at least half a timed batch. */
const WARMUP_CALLS = 3;

/**
 * Times each contender for `rounds` interleaved rounds. Each contender first warms up
 * (at least three calls and half a batch's time: JIT tiers, wasm tier-up, worker start,
 * first-call planning), and the repetitions per batch are sized from the warm calls, not
 * the cold first one, so that every contender's batch is long enough.
 * @example const [ours, tfjs] = await measure([oursContender, tfjsContender], { rounds: 5, minBatchSeconds: 0.2 });
 */
export const measure = async (contenders: readonly Contender[], options: MeasureOptions): Promise<Timing[]> => {
  const reps: number[] = [];
  for (const c of contenders) {
    await c.prepare?.();
    const start = now();
    let calls = 0;
    let last = 0;
    while (calls < WARMUP_CALLS || now() - start < options.minBatchSeconds / 2) {
      const t0 = now();
      await c.run();
      last = now() - t0;
      calls++;
    }
    reps.push(Math.max(1, Math.ceil(options.minBatchSeconds / Math.max(last, 1e-6))));
  }
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < options.rounds; round++)
    for (const [i, c] of contenders.entries()) {
      await c.prepare?.();
      const n = reps[i]!;
      const t0 = now();
      for (let k = 0; k < n; k++) {
        const pending = c.run();
        if (pending !== undefined) await pending;
      }
      samples[i]!.push((now() - t0) / n);
    }
  for (const c of contenders) c.dispose?.();
  return contenders.map((c, i) => ({ label: c.label, seconds: median(samples[i]!), samples: samples[i]! }));
};

/** A Markdown table from a header and rows of cells. */
export const markdownTable = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`, ...rows.map(line)].join("\n");
};

/** "1.23 MB" style sizes. */
export const formatBytes = (bytes: number): string =>
  bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : bytes >= 1 << 10 ? `${(bytes / (1 << 10)).toFixed(1)} KiB` : `${bytes} B`;
