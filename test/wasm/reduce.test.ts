/**
 * SIMD reductions of the wasm backend (sum and mean over any set of axes, one run of
 * consecutive axes at a time; softmax and logSoftmax along the last axis) against the
 * JS kernels: odd sizes (tails
 * of 1–3 lanes), reduced axes first, last, in the middle and all of them, long sums
 * (blocked accumulation), NaN and ±∞ inputs, huge logits; what they do not cover stays
 * on the JS kernels; in a compiled training step they run as wasm steps.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { compile } from "../../runtime/program.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { reduceKernels } from "../../runtime/kernels/reduce.js";
import { maxThreads, sharedWasmContext } from "../../runtime/wasm/context.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { planWasmReduce, REDUCE_SPLIT_ELEMENTS } from "../../runtime/wasm/reduce.js";
import { f32Mismatches, randomF32, toHeap } from "./support.js";

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

type Case = { readonly op: "sum" | "mean"; readonly shape: readonly number[]; readonly axes: readonly number[] } | { readonly op: "softmax" | "logSoftmax"; readonly shape: readonly number[] };

/** Output of the JS kernel (f32 result of double accumulation). */
const reference = (c: Case, x: Float32Array): Float32Array => {
  const input: TensorValue = tensorValue("f32", c.shape, x);
  if (c.op === "sum" || c.op === "mean") {
    const outShape = c.shape.filter((_, i) => !c.axes.includes(i));
    const out = tensorValue("f32", outShape, new Float32Array(size(outShape)));
    reduceKernels[c.op]([input], { axes: c.axes, keepdims: false }, out);
    return out.data as Float32Array;
  }
  const out = tensorValue("f32", c.shape, new Float32Array(size(c.shape)));
  reduceKernels[c.op]([input], { axis: c.shape.length - 1 }, out);
  return out.data as Float32Array;
};

const runWasm = (c: Case, x: Float32Array, threads = 1): Float32Array => {
  const ctx = sharedWasmContext()!;
  const params = c.op === "sum" || c.op === "mean" ? { axes: c.axes, keepdims: false } : { axis: c.shape.length - 1 };
  const plan = planWasmReduce(ctx, c.op, c.shape, params, threads);
  expect(plan, JSON.stringify(c)).toBeDefined();
  const outSize = c.op === "sum" || c.op === "mean" ? size(c.shape.filter((_, i) => !c.axes.includes(i))) : size(c.shape);
  const xAt = toHeap(ctx.heap, x);
  const outAt = ctx.heap.allocate(4 * Math.max(outSize, 1));
  // Garbage in the output: every element must be written.
  new Float32Array(ctx.heap.buffer, outAt, outSize).fill(Number.NaN);
  plan!.run(xAt, outAt);
  const got = new Float32Array(ctx.heap.buffer, outAt, outSize).slice();
  ctx.heap.free(xAt);
  ctx.heap.free(outAt);
  plan!.free?.();
  return got;
};

const SUMS: Case[] = [
  { op: "sum", shape: [128, 256], axes: [0] },
  { op: "sum", shape: [128, 10], axes: [0] },
  { op: "sum", shape: [7, 13], axes: [0] },
  { op: "sum", shape: [7, 13], axes: [1] },
  { op: "sum", shape: [3, 5, 6], axes: [1] },
  { op: "sum", shape: [3, 5, 6, 2], axes: [1, 2] },
  { op: "sum", shape: [4, 9, 11], axes: [0, 1, 2] },
  { op: "sum", shape: [128, 1], axes: [1] },
  { op: "sum", shape: [1], axes: [0] },
  { op: "sum", shape: [5, 1, 3], axes: [1] },
  { op: "mean", shape: [128], axes: [0] },
  { op: "mean", shape: [6, 7, 3], axes: [1, 2] },
  { op: "mean", shape: [33, 5], axes: [0] },
  // Several runs of reduced axes (batch norm's statistics and others): reduced innermost run first.
  { op: "sum", shape: [3, 5, 6, 2], axes: [0, 2] },
  { op: "mean", shape: [4, 3, 5, 7], axes: [0, 2, 3] },
  { op: "sum", shape: [2, 3, 4, 5, 3], axes: [1, 3] },
  { op: "sum", shape: [5, 6, 7], axes: [2, 0] },
  { op: "mean", shape: [64, 16, 28, 28], axes: [0, 2, 3] },
  { op: "sum", shape: [7, 2, 9, 3], axes: [0, 1, 3] },
];

const SOFTMAXES: Case[] = [
  { op: "softmax", shape: [128, 10] },
  { op: "logSoftmax", shape: [128, 10] },
  { op: "softmax", shape: [3, 4, 17] },
  { op: "logSoftmax", shape: [5, 1] },
  { op: "softmax", shape: [2, 3] },
  { op: "logSoftmax", shape: [64] },
];

describe.skipIf(!wasmFeatures().simd || !wasmFeatures().threads)("wasm reductions", () => {
  it.each([...SUMS, ...SOFTMAXES].map((c) => [JSON.stringify(c), c] as const))("match the JS kernel: %s", (_name, c) => {
    const x = randomF32(size(c.shape), 11).map((v) => 4 * v);
    expect(f32Mismatches(runWasm(c, x), reference(c, x), 2e-5, 2e-5)).toEqual([]);
  });

  it("sums long rows and columns accurately (blocked accumulation)", () => {
    for (const c of [
      { op: "sum", shape: [3, 100_003], axes: [1] },
      { op: "mean", shape: [40_001, 6], axes: [0] },
      { op: "sum", shape: [1 << 20], axes: [0] },
    ] as Case[]) {
      // Positive values: no cancellation, so the relative error measures the accumulation.
      const x = randomF32(size(c.shape), 5).map((v) => 1.5 + v);
      expect(f32Mismatches(runWasm(c, x), reference(c, x), 2e-6, 0), JSON.stringify(c)).toEqual([]);
    }
  });

  it("propagates NaN and infinities like the JS kernels", () => {
    const x = randomF32(4 * 9, 3);
    x[2] = Number.NaN;
    x[9 + 5] = Infinity;
    x[18 + 1] = -Infinity;
    x.fill(-Infinity, 27, 36);
    for (const c of [
      { op: "sum", shape: [4, 9], axes: [1] },
      { op: "sum", shape: [4, 9], axes: [0] },
      { op: "softmax", shape: [4, 9] },
      { op: "logSoftmax", shape: [4, 9] },
    ] as Case[])
      expect(f32Mismatches(runWasm(c, x), reference(c, x), 2e-5, 2e-5), JSON.stringify(c)).toEqual([]);
  });

  it("stays finite for huge logits (the maximum is subtracted first)", () => {
    const x = randomF32(6 * 7, 8).map((v) => 1e30 * v);
    for (const c of [{ op: "softmax", shape: [6, 7] }, { op: "logSoftmax", shape: [6, 7] }] as Case[]) {
      const got = runWasm(c, x);
      expect(got.every(Number.isFinite)).toBe(true);
      expect(f32Mismatches(got, reference(c, x), 2e-5, 2e-5)).toEqual([]);
    }
  });

  it("leaves what it does not cover to the JS kernels", () => {
    const ctx = sharedWasmContext()!;
    expect(planWasmReduce(ctx, "sum", [3, 4], { axes: [], keepdims: false })).toBeUndefined();
    expect(planWasmReduce(ctx, "mean", [3, 0], { axes: [1], keepdims: false })).toBeUndefined();
    expect(planWasmReduce(ctx, "softmax", [3, 4], { axis: 0 })).toBeUndefined();
    expect(planWasmReduce(ctx, "max", [3, 4], { axes: [1], keepdims: false })).toBeUndefined();
  });

  it("runs the MLP step's reductions as wasm steps, matching the JS backend", () => {
    const x = tg.input("x", [32, 20], "f32");
    const labels = tg.input("labels", [32], "i32");
    const params = tg.mlp.init("mlp", [20, 16, 5]);
    const logits = tg.mlp(params, tg.tanh)(x) as tg.Tensor<readonly [32, 5], "f32">;
    const loss = tg.softmaxCrossEntropy(logits, labels);
    const leaves = tg.collectParams(params).map((node) => ({ node }) as tg.AnyTensor);
    const grads = tg.grad(loss, leaves) as tg.AnyTensor[];
    const outputs: Record<string, tg.AnyTensor> = { loss, probs: tg.softmax(logits, -1) as tg.AnyTensor };
    grads.forEach((g, i) => (outputs[`g${i}`] = g));
    const graph = tg.buildGraph(outputs);
    const feeds = {
      ...tg.initParams(graph, 3)[0],
      x: tensorValue("f32", [32, 20], randomF32(32 * 20, 4)),
      labels: tensorValue("i32", [32], Int32Array.from({ length: 32 }, (_, i) => (i * 3) % 5)),
    };
    const fast = compile(graph);
    const reductions = fast.plan(feeds).steps.filter((s) => ["sum", "mean", "softmax", "logSoftmax"].includes(s.op));
    expect(reductions.length).toBeGreaterThan(3);
    expect(reductions.every((s) => s.backend === "wasm")).toBe(true);
    const got = fast.runNamed(feeds);
    const want = compile(graph, { backend: "js" }).runNamed(feeds);
    for (const name of Object.keys(want)) expect(f32Mismatches(got[name]!.data, want[name]!.data, 1e-5, 1e-5), name).toEqual([]);
  });

  it.skipIf(!wasmFeatures().threads || maxThreads() < 2)("split across two threads: the same bits as one thread, and within tolerance of the JS kernels", async () => {
    expect(await sharedWasmContext()!.pool(2)!.ready()).toBe(true);
    const cases: Case[] = [
      { op: "softmax", shape: [32, 4, 64, 65] },
      { op: "logSoftmax", shape: [257, 75] },
      { op: "sum", shape: [2048, 64], axes: [1] },
      { op: "mean", shape: [2049, 3, 11], axes: [1] },
      { op: "mean", shape: [3, 4096, 5], axes: [1, 2] },
      { op: "mean", shape: [64, 16, 28, 28], axes: [0, 2, 3] },
    ];
    for (const c of cases) {
      expect(size(c.shape)).toBeGreaterThanOrEqual(REDUCE_SPLIT_ELEMENTS);
      const x = randomF32(size(c.shape), 11).map((v) => 4 * v);
      const one = runWasm(c, x);
      const two = runWasm(c, x, 2);
      expect(f32Mismatches(two, reference(c, x), 2e-5, 2e-5), JSON.stringify(c)).toEqual([]);
      expect([...two], JSON.stringify(c)).toEqual([...one]);
    }
  });
});
