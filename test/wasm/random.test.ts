/**
 * The wasm generator behind `randomUniform` against the JS kernel: bit-identical values
 * for several keys (negative and large ones included), streams and sizes (empty, tails of
 * 1–3 elements, large), on one thread and split across two; and in a compiled program
 * (dropout on a symbolic batch), the random step runs on wasm with the JS backend's values.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { compile } from "../../runtime/program.js";
import { tensorValue } from "../../runtime/value.js";
import { randomUniformKernel } from "../../runtime/kernels/random.js";
import { maxThreads, sharedWasmContext } from "../../runtime/wasm/context.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { planWasmRandom, RANDOM_SPLIT_ELEMENTS } from "../../runtime/wasm/random.js";
import { randomF32 } from "./support.js";

const reference = (key: number, stream: number, n: number): Float32Array => {
  const out = tensorValue("f32", [n], new Float32Array(n));
  randomUniformKernel([tensorValue("i32", [], Int32Array.of(key))], { shape: [n], dtype: "f32", stream }, out);
  return out.data as Float32Array;
};

/** The first index where two arrays differ in bits, or -1. */
const firstDifference = (a: Float32Array, b: Float32Array): number => {
  if (a.length !== b.length) return 0;
  const [x, y] = [new Int32Array(a.buffer, a.byteOffset, a.length), new Int32Array(b.buffer, b.byteOffset, b.length)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
};

const generate = (key: number, stream: number, n: number, threads: number): Float32Array => {
  const ctx = sharedWasmContext()!;
  const plan = planWasmRandom(ctx, [n], { shape: [n], dtype: "f32", stream }, threads)!;
  const at = ctx.heap.allocate(4 * n + 16);
  // Garbage before the run, and a guard after the output that must survive.
  new Float32Array(ctx.heap.buffer, at, n + 4).fill(-7);
  plan.run(key, at);
  const got = new Float32Array(ctx.heap.buffer, at, n + 4).slice();
  ctx.heap.free(at);
  expect([...got.subarray(n)]).toEqual([-7, -7, -7, -7]);
  return got.subarray(0, n);
};

describe.skipIf(!wasmFeatures().simd)("wasm randomUniform", () => {
  const sizes = [0, 1, 3, 5, 4097, RANDOM_SPLIT_ELEMENTS + 7, 100_000];
  const keys: [number, number][] = [[0, 0], [7, 3], [-1, 1], [2147483647, 5], [-2147483648, 2], [123456789, 40503]];

  it("is bit-identical to the JS kernel on one thread", () => {
    for (const [key, stream] of keys) for (const n of sizes) expect(firstDifference(generate(key, stream, n, 1), reference(key, stream, n)), `key ${key} stream ${stream} n ${n}`).toBe(-1);
  });

  it.skipIf(!wasmFeatures().threads || maxThreads() < 2)("is bit-identical split across two threads", async () => {
    expect(await sharedWasmContext()!.pool(2)!.ready()).toBe(true);
    for (const [key, stream] of keys) for (const n of sizes) expect(firstDifference(generate(key, stream, n, 2), reference(key, stream, n)), `key ${key} stream ${stream} n ${n}`).toBe(-1);
  });

  it("leaves f64 to the JS kernel", () => {
    expect(planWasmRandom(sharedWasmContext()!, [8], { shape: [8], dtype: "f64", stream: 0 }, 1)).toBeUndefined();
  });

  it("runs dropout's random step on wasm in a compiled program, with the JS backend's values", () => {
    const x = tg.input("x", [tg.sym("batch"), 64, 96], "f32");
    const key = tg.input("key", [], "i32");
    const graph = tg.buildGraph({ y: tg.dropout(x, 0.25, { training: true, key, stream: 9 }) });
    const feeds = { x: tensorValue("f32", [12, 64, 96], randomF32(12 * 64 * 96, 4)), key: tensorValue("i32", [], Int32Array.of(-31)) };
    const fast = compile(graph);
    const step = fast.plan(feeds).steps.find((s) => s.op === "randomUniform");
    expect(step?.backend).toBe("wasm");
    const got = fast.runNamed(feeds).y!.data;
    const want = compile(graph, { backend: "js" }).runNamed(feeds).y!.data;
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
    const zeros = [...got].filter((v) => v === 0).length / got.length;
    expect(zeros).toBeGreaterThan(0.22);
    expect(zeros).toBeLessThan(0.28);
  });
});
