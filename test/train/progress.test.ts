/**
 * The progress bar: silent when not a TTY or in CI, plain epoch lines when asked, and the
 * drawn bar's content (epoch, step/steps, loss, accuracy, steps/s, ETA), throttling and
 * width limits, with a fake stream and clock.
 */
import { describe, expect, it } from "vitest";
import { createProgressBar, formatDuration, shouldDrawProgress, type ProgressStream } from "../../src/train/progress.js";

const fakeStream = (isTTY: boolean, columns = 120): ProgressStream & { out: string[] } => {
  const out: string[] = [];
  return { isTTY, columns, out, write: (chunk: string) => out.push(chunk) };
};

const clock = (): { now: () => number; advance: (ms: number) => void } => {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
};

const run = (bar: ReturnType<typeof createProgressBar>, c: ReturnType<typeof clock>, epochs: number, steps: number): void => {
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let step = 1; step <= steps; step++) {
      bar.step({ epoch, step, loss: 1 / (epoch * step), accuracy: 0.5 });
      c.advance(50);
    }
    bar.endEpoch({ epoch, loss: 0.25, accuracy: 0.9, validationLoss: 0.3, validationAccuracy: 0.875 });
  }
};

describe("progress bar", () => {
  it("decides when to draw from the TTY flag, CI and TERM", () => {
    expect(shouldDrawProgress({ isTTY: true, write: () => 0 }, {})).toBe(true);
    expect(shouldDrawProgress({ isTTY: false, write: () => 0 }, {})).toBe(false);
    expect(shouldDrawProgress({ write: () => 0 }, {})).toBe(false);
    expect(shouldDrawProgress({ isTTY: true, write: () => 0 }, { CI: "true" })).toBe(false);
    expect(shouldDrawProgress({ isTTY: true, write: () => 0 }, { CI: "1" })).toBe(false);
    expect(shouldDrawProgress({ isTTY: true, write: () => 0 }, { CI: "false" })).toBe(true);
    expect(shouldDrawProgress({ isTTY: true, write: () => 0 }, { TERM: "dumb" })).toBe(false);
  });

  it("writes nothing to a non-TTY stream or in CI", () => {
    for (const [tty, env] of [[false, {}], [true, { CI: "true" }]] as const) {
      const stream = fakeStream(tty);
      const c = clock();
      const bar = createProgressBar({ epochs: 2, stepsPerEpoch: 5, stream, env, now: c.now });
      expect(bar.enabled).toBe(false);
      run(bar, c, 2, 5);
      bar.close();
      expect(stream.out).toEqual([]);
    }
  });

  it("prints one plain line per epoch when asked, without control characters", () => {
    const stream = fakeStream(false);
    const c = clock();
    const bar = createProgressBar({ epochs: 2, stepsPerEpoch: 4, stream, env: {}, now: c.now, epochLines: true });
    run(bar, c, 2, 4);
    expect(stream.out).toEqual([
      "epoch 1/2  loss 0.2500  acc 90.00%  val loss 0.3000  val acc 87.50%  0.2s\n",
      "epoch 2/2  loss 0.2500  acc 90.00%  val loss 0.3000  val acc 87.50%  0.2s\n",
    ]);
  });

  it("draws epoch, step/steps, loss, accuracy, steps/s and ETA on a TTY, then an epoch summary", () => {
    const stream = fakeStream(true);
    const c = clock();
    const bar = createProgressBar({ epochs: 2, stepsPerEpoch: 10, stream, env: {}, now: c.now, minIntervalMs: 0 });
    expect(bar.enabled).toBe(true);
    for (let step = 1; step <= 5; step++) {
      bar.step({ epoch: 1, step, loss: 0.5, accuracy: 0.25 });
      c.advance(100);
    }
    const last = stream.out[stream.out.length - 1]!;
    // 5 steps at 100 ms: 4 intervals in 400 ms = 10 steps/s; 15 steps left = 1.5 s.
    expect(last).toBe("\r\x1b[2Kepoch 1/2 [███████████████░░░░░░░░░░░░░░░]  5/10  loss 0.5000  acc 25.00%  10.0 steps/s  ETA 0:02");
    bar.endEpoch({ epoch: 1, loss: 0.5 });
    expect(stream.out[stream.out.length - 1]).toBe("\r\x1b[2Kepoch 1/2  loss 0.5000  0.5s\n");
    bar.step({ epoch: 2, step: 1 });
    bar.close();
    expect(stream.out[stream.out.length - 1]).toBe("\r\x1b[2K");
  });

  it("throttles redraws but always draws an epoch's last step", () => {
    const stream = fakeStream(true);
    const c = clock();
    const bar = createProgressBar({ epochs: 1, stepsPerEpoch: 100, stream, env: {}, now: c.now, minIntervalMs: 100 });
    for (let step = 1; step <= 100; step++) {
      bar.step({ epoch: 1, step });
      c.advance(10);
    }
    expect(stream.out.length).toBe(11); // every 10th step, plus the last one
    expect(stream.out[stream.out.length - 1]).toMatch(/100\/100/);
  });

  it("fits narrow terminals: the bar shrinks, then disappears, the line never wraps", () => {
    for (const columns of [60, 40, 20]) {
      const stream = fakeStream(true, columns);
      const bar = createProgressBar({ epochs: 3, stepsPerEpoch: 1000, stream, env: {}, now: clock().now });
      bar.step({ epoch: 1, step: 500, loss: 1.5, accuracy: 0.5 });
      const line = stream.out[0]!.replace("\r\x1b[2K", "");
      expect(line.length).toBeLessThanOrEqual(columns - 1);
    }
  });

  it("formats durations and rejects bad sizes", () => {
    expect(formatDuration(5)).toBe("0:05");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(NaN)).toBe("--:--");
    expect(() => createProgressBar({ epochs: 0, stepsPerEpoch: 1 })).toThrow(/positive integers/);
  });
});
