/**
 * Memory soak: trains the MNIST MLP for many steps and reports resident memory just after
 * warm-up and over the last fifth of the run (growth must stay under 5%), then compiles
 * the same model repeatedly, dropping each program, and reports heap and external memory.
 *
 *   npm run soak                       # 10,000 steps, 200 compiles (a few minutes)
 *   npx tsx scripts/soak.ts --steps 2000 --compiles 100 --json
 * Run with --expose-gc for exact figures (npm run soak does).
 */
import { input, sym, relu, mlp, adam, createTrainer, softmaxCrossEntropy, buildGraph, compile, tensorValue } from "../src/index.js";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg("steps", 10_000);
const compiles = arg("compiles", 200);
const hidden = arg("hidden", 256);
const json = process.argv.includes("--json");
const gc = (globalThis as { gc?: () => void }).gc;
const settle = (): void => {
  gc?.();
  gc?.();
};
const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

const b = sym("batch");
const x = input("x", [b, 784], "f32");
const labels = input("labels", [b], "i32");
const params = mlp.init("soak", [784, hidden, hidden, 10]);
const logits = mlp(params, relu)(x);
const loss = softmaxCrossEntropy(logits, labels);
const trainer = createTrainer({ loss, params, optimizer: adam(), learningRate: 1e-3 });

const batch = 64;
const xs = new Float32Array(batch * 784).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const ys = new Int32Array(batch).map((_, i) => i % 10);
const feeds = { x: tensorValue("f32", [batch, 784], xs), labels: { dtype: "i32" as const, shape: [batch], data: ys } };

// RSS swings by tens of MB between samples as the allocator keeps or returns the pages of
// freed output arrays, so single readings say little: compare the median of the samples in
// the first fifth after warm-up with the median of the last fifth (the heap itself is
// reported too, and is what a leak would grow).
let state = trainer.init(0);
let previous: typeof state | undefined;
const warmup = Math.min(500, Math.floor(steps / 5));
const sampleEvery = Math.max(1, Math.floor(steps / 100));
const samples: { step: number; rss: number; heap: number }[] = [];
let trainMs = 0;
for (let i = 1; i <= steps; i++) {
  const s0 = performance.now();
  // As `fit` does: the state before the current one is handed back for its arrays.
  const recycle = previous === undefined ? undefined : { ...previous.params, ...previous.optimizer };
  previous = state;
  state = trainer.trainStep(state, feeds, recycle === undefined ? {} : { recycle }).state;
  trainMs += performance.now() - s0;
  if (i >= warmup && (i - warmup) % sampleEvery === 0) {
    settle();
    const m = process.memoryUsage();
    samples.push({ step: i, rss: m.rss, heap: m.heapUsed });
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const window = Math.max(1, Math.floor(samples.length / 5));
const first = samples.slice(0, window);
const last = samples.slice(-window);
const rssWarm = median(first.map((s) => s.rss));
const rssEnd = median(last.map((s) => s.rss));
const heapWarm = median(first.map((s) => s.heap));
const heapEnd = median(last.map((s) => s.heap));
const msPerStep = trainMs / steps;

const graph = buildGraph({ logits, loss }, "soakForward");
const weights = Object.fromEntries(Object.entries(state.params));
settle();
const before = process.memoryUsage();
for (let i = 0; i < compiles; i++) compile(graph).run({ ...weights, ...feeds });
settle();
const after = process.memoryUsage();

const report = {
  steps,
  warmupStep: warmup,
  rssAfterWarmupMB: mb(rssWarm),
  rssEndMB: mb(rssEnd),
  rssGrowthPercent: Math.round(((rssEnd - rssWarm) / rssWarm) * 1000) / 10,
  rssMinMB: mb(Math.min(...samples.map((s) => s.rss))),
  rssMaxMB: mb(Math.max(...samples.map((s) => s.rss))),
  heapAfterWarmupMB: mb(heapWarm),
  heapEndMB: mb(heapEnd),
  msPerStep: Math.round(msPerStep * 100) / 100,
  compiles,
  heapBeforeCompilesMB: mb(before.heapUsed),
  heapAfterCompilesMB: mb(after.heapUsed),
  arrayBuffersBeforeMB: mb(before.arrayBuffers),
  arrayBuffersAfterMB: mb(after.arrayBuffers),
  exactGc: gc !== undefined,
};
if (json) console.log(JSON.stringify(report));
else {
  console.log(
    `${steps} training steps (${report.msPerStep} ms/step): median RSS ${report.rssAfterWarmupMB} MB just after warm-up (step ${warmup}), ` +
      `${report.rssEndMB} MB over the last fifth (${report.rssGrowthPercent}%); samples ranged ${report.rssMinMB}-${report.rssMaxMB} MB; ` +
      `heap ${report.heapAfterWarmupMB} -> ${report.heapEndMB} MB`,
  );
  console.log(`${compiles} compiles of the same model: heap ${report.heapBeforeCompilesMB} -> ${report.heapAfterCompilesMB} MB, array buffers ${report.arrayBuffersBeforeMB} -> ${report.arrayBuffersAfterMB} MB`);
}
