/**
 * Memory soak: trains the MNIST MLP for many steps and reports resident memory after
 * warm-up and at the end (growth must stay under 5%), then compiles the same model
 * repeatedly, dropping each program, and reports heap and external memory.
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

let state = trainer.init(0);
const warmup = Math.min(500, Math.floor(steps / 5));
let rssWarm = 0;
const t0 = performance.now();
for (let i = 1; i <= steps; i++) {
  state = trainer.trainStep(state, feeds).state;
  if (i === warmup) {
    settle();
    rssWarm = process.memoryUsage().rss;
  }
}
settle();
const rssEnd = process.memoryUsage().rss;
const msPerStep = (performance.now() - t0) / steps;

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
  console.log(`${steps} training steps (${report.msPerStep} ms/step): RSS ${report.rssAfterWarmupMB} MB after step ${warmup}, ${report.rssEndMB} MB at the end (${report.rssGrowthPercent}%)`);
  console.log(`${compiles} compiles of the same model: heap ${report.heapBeforeCompilesMB} -> ${report.heapAfterCompilesMB} MB, array buffers ${report.arrayBuffersBeforeMB} -> ${report.arrayBuffersAfterMB} MB`);
}
