/**
 * A terminal progress bar for training: epoch, step/steps, loss, accuracy, steps/s, ETA.
 *
 * Takes a stream (default `process.stderr`), the environment and a clock, all injectable;
 * guarantees that it draws only when the stream is a TTY, `CI` is unset (or "0"/"false")
 * and `TERM` is not "dumb". Otherwise it writes nothing, or, with `epochLines`, one plain
 * summary line per epoch (for logs). Redraws are throttled; the bar line is cleared and
 * replaced by the epoch summary at the end of each epoch.
 */

/** The part of a writable stream the bar needs (process.stdout / stderr fit). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly stream?: ProgressStream;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** When not drawing a bar, print one plain line per epoch (default false: print nothing). */
  readonly epochLines?: boolean;
  /** Milliseconds; default `performance.now`. */
  readonly now?: () => number;
  /** Minimum milliseconds between redraws (default 100). */
  readonly minIntervalMs?: number;
}

export interface StepUpdate {
  /** 1-based epoch. */
  readonly epoch: number;
  /** Steps done in this epoch, 1-based. */
  readonly step: number;
  readonly loss?: number;
  readonly accuracy?: number;
}

export interface EpochSummary {
  readonly epoch: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

export interface ProgressBar {
  /** Whether a bar is drawn (TTY, not CI). */
  readonly enabled: boolean;
  step(update: StepUpdate): void;
  endEpoch(summary: EpochSummary): void;
  /** Clears a half-drawn bar (e.g. when training is aborted). */
  close(): void;
}

/**
 * Whether a bar should be drawn on this stream in this environment.
 *
 * @example
 * shouldDrawProgress(process.stderr, process.env) // false under CI=true or when piped
 */
export const shouldDrawProgress = (stream: ProgressStream, env: Readonly<Record<string, string | undefined>>): boolean => {
  const ci = env["CI"];
  const inCi = ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
  return stream.isTTY === true && !inCi && env["TERM"] !== "dumb";
};

/** `m:ss` or `h:mm:ss`. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
};

const formatMetrics = (loss: number | undefined, acc: number | undefined, prefix = ""): string[] => [
  ...(loss === undefined ? [] : [`${prefix}loss ${formatLoss(loss)}`]),
  ...(acc === undefined ? [] : [`${prefix}acc ${(acc * 100).toFixed(2)}%`]),
];

const formatLoss = (loss: number): string => (Math.abs(loss) >= 1e-3 || loss === 0 ? loss.toFixed(4) : loss.toExponential(2));

const CLEAR_LINE = "\r\x1b[2K";

/**
 * A progress bar for `epochs` epochs of `stepsPerEpoch` steps.
 *
 * @example
 * const bar = createProgressBar({ epochs: 10, stepsPerEpoch: batches.length });
 * for (let epoch = 1; epoch <= 10; epoch++) {
 *   batches.forEach((b, i) => bar.step({ epoch, step: i + 1, loss: trainStep(b) }));
 *   bar.endEpoch({ epoch, loss, validationAccuracy });
 * }
 */
export const createProgressBar = (options: ProgressOptions): ProgressBar => {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? (() => performance.now());
  const minInterval = options.minIntervalMs ?? 100;
  const { epochs, stepsPerEpoch } = options;
  if (!Number.isInteger(epochs) || epochs < 1 || !Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) {
    throw new RangeError(`createProgressBar: epochs and stepsPerEpoch must be positive integers, got ${epochs} and ${stepsPerEpoch}`);
  }
  const enabled = shouldDrawProgress(stream, env);
  const total = epochs * stepsPerEpoch;
  let firstStepAt: number | undefined;
  let epochStartedAt: number | undefined;
  let stepsSinceFirst = 0;
  let lastDrawAt = -Infinity;
  let drawn = false;

  const render = (u: StepUpdate, at: number): string => {
    const done = (u.epoch - 1) * stepsPerEpoch + u.step;
    const elapsed = (at - (firstStepAt ?? at)) / 1000;
    const rate = elapsed > 0 ? (stepsSinceFirst - 1) / elapsed : NaN;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const counter = `${String(u.step).padStart(String(stepsPerEpoch).length)}/${stepsPerEpoch}`;
    const tail = [counter, ...formatMetrics(u.loss, u.accuracy), `${Number.isFinite(rate) ? rate.toFixed(1) : "-"} steps/s`, `ETA ${formatDuration(eta)}`].join("  ");
    const head = `epoch ${u.epoch}/${epochs} `;
    const columns = stream.columns ?? 80;
    const barWidth = Math.max(0, Math.min(30, columns - 1 - head.length - tail.length - 4));
    const filled = Math.round((barWidth * u.step) / stepsPerEpoch);
    const bar = barWidth >= 5 ? `[${"█".repeat(filled)}${"░".repeat(barWidth - filled)}] ` : "";
    return `${head}${bar}${tail}`.slice(0, Math.max(1, columns - 1));
  };

  return {
    enabled,
    step(u) {
      const at = now();
      firstStepAt ??= at;
      epochStartedAt ??= at;
      stepsSinceFirst++;
      if (!enabled) return;
      if (at - lastDrawAt < minInterval && u.step !== stepsPerEpoch) return;
      lastDrawAt = at;
      drawn = true;
      stream.write(CLEAR_LINE + render(u, at));
    },
    endEpoch(s) {
      const at = now();
      const seconds = epochStartedAt === undefined ? 0 : (at - epochStartedAt) / 1000;
      epochStartedAt = undefined;
      if (!enabled && options.epochLines !== true) return;
      const line = [`epoch ${s.epoch}/${epochs}`, ...formatMetrics(s.loss, s.accuracy), ...formatMetrics(s.validationLoss, s.validationAccuracy, "val "), `${seconds.toFixed(1)}s`].join("  ");
      stream.write(`${enabled && drawn ? CLEAR_LINE : ""}${line}\n`);
      drawn = false;
      lastDrawAt = -Infinity;
    },
    close() {
      if (enabled && drawn) stream.write(CLEAR_LINE);
      drawn = false;
    },
  };
};
