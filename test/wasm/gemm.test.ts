/**
 * The generated GEMM against a float64 matmul by the definition, within the float32
 * accumulation bound: odd and prime sizes, 1, sizes across the cache blocks (KC = 256,
 * MC = 128) and the register tile (4 x 8), transposes read in place, broadcast batch
 * dims, k = 0; with fused multiply-add and with plain mul+add; and bit-identical results
 * with one and two threads for every kind of split.
 */
import { describe, expect, it } from "vitest";
import { planMatmul } from "../../runtime/matmul/batched.js";
import { fixedWasmContext, sharedWasmContext, type WasmContext } from "../../runtime/wasm/context.js";
import { guidedRowStarts, planWasmMatmul, splitMatmul } from "../../runtime/wasm/matmul.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { balancedKc, GEMM_KC, GEMM_MC, GEMM_MR } from "../../runtime/wasm/gemmModule.js";
import { exactMatmul, outsideBound, randomF32, toHeap, type MatmulCase } from "./support.js";

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const shapeOf = (c: MatmulCase): number[] => {
  const ar = c.aShape.length;
  const br = c.bShape.length;
  const m = c.transposeA ? c.aShape[ar - 1]! : c.aShape[ar - 2]!;
  const n = c.transposeB ? c.bShape[br - 2]! : c.bShape[br - 1]!;
  const [ba, bb] = [c.aShape.slice(0, -2), c.bShape.slice(0, -2)];
  const rank = Math.max(ba.length, bb.length);
  const pad = (s: readonly number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  return [...pad(ba).map((d, i) => Math.max(d, pad(bb)[i]!)), m, n];
};

/** Runs a case on `ctx` with `threads`; returns the output (copied out of the heap). */
const runCase = (ctx: WasmContext, c: MatmulCase, threads: number, seed = 1): { out: Float32Array; split: string } => {
  const a = randomF32(size(c.aShape), seed);
  const b = randomF32(size(c.bShape), seed + 100);
  const outShape = shapeOf(c);
  const plan = planMatmul(c.aShape, c.bShape, { transposeA: c.transposeA, transposeB: c.transposeB }, outShape);
  const mm = planWasmMatmul(ctx, plan, threads);
  const [aAt, bAt] = [toHeap(ctx.heap, a), toHeap(ctx.heap, b)];
  const cAt = toHeap(ctx.heap, new Float32Array(size(outShape)).fill(Number.NaN));
  mm.run(aAt, bAt, cAt);
  const out = new Float32Array(ctx.heap.buffer, cAt, size(outShape)).slice();
  for (const at of [aAt, bAt, cAt]) ctx.heap.free(at);
  mm.free();
  return { out, split: mm.split.kind };
};

const check = (ctx: WasmContext, c: MatmulCase, threads = 1): void => {
  const a = randomF32(size(c.aShape), 1);
  const b = randomF32(size(c.bShape), 101);
  const ref = exactMatmul(c, a, b);
  const { out } = runCase(ctx, c, threads);
  expect(outsideBound(out, ref), JSON.stringify(c)).toEqual([]);
};

const mm2 = (m: number, k: number, n: number, transposeA = false, transposeB = false): MatmulCase => ({
  aShape: transposeA ? [k, m] : [m, k],
  bShape: transposeB ? [n, k] : [k, n],
  transposeA,
  transposeB,
});

const SIZES: readonly (readonly [number, number, number])[] = [
  [1, 1, 1], [1, 7, 1], [3, 1, 5], [5, 13, 7], [4, 8, 8], [13, 17, 19], [8, 300, 9], [37, 257, 41], [129, 3, 130], [31, 600, 23], [200, 520, 17], [9, 784, 12],
];

const contexts: [string, () => WasmContext][] = [
  ["shared heap", () => sharedWasmContext()!],
  ["plain mul+add, fixed heap", () => fixedWasmContext(16 << 20, { fma: false })!],
];

describe.skipIf(!wasmFeatures().simd)("generated GEMM", () => {
  for (const [name, make] of contexts) {
    describe(name, () => {
      it.each(SIZES)("m=%i k=%i n=%i, all four transpose combinations", (m, k, n) => {
        const ctx = make();
        for (const ta of [false, true]) for (const tb of [false, true]) check(ctx, mm2(m, k, n, ta, tb));
      });
    });
  }

  it("uses FMA exactly when relaxed SIMD validates", () => {
    expect(sharedWasmContext()!.fma).toBe(wasmFeatures().relaxedSimd);
    expect(fixedWasmContext(1 << 20, { fma: false })!.fma).toBe(false);
  });

  it("broadcasts batch dims and handles transposed batched operands", () => {
    const ctx = sharedWasmContext()!;
    const cases: MatmulCase[] = [
      { aShape: [3, 5, 7], bShape: [7, 4], transposeA: false, transposeB: false },
      { aShape: [3, 7, 5], bShape: [7, 4], transposeA: true, transposeB: false },
      { aShape: [5, 7], bShape: [3, 7, 9], transposeA: false, transposeB: false },
      { aShape: [2, 1, 5, 7], bShape: [1, 3, 9, 7], transposeA: false, transposeB: true },
      { aShape: [4, 33, 20], bShape: [4, 20, 18], transposeA: false, transposeB: false },
    ];
    for (const c of cases) check(ctx, c);
  });

  it("writes zeros for k = 0 and nothing for empty outputs", () => {
    const ctx = sharedWasmContext()!;
    expect([...runCase(ctx, mm2(3, 0, 5), 1).out]).toEqual(new Array(15).fill(0));
    expect(runCase(ctx, mm2(0, 4, 5), 1).out.length).toBe(0);
  });

  it("splits only products worth splitting", () => {
    expect(splitMatmul({ m: 64, n: 64, k: 64, batches: 1, flops: 2 * 64 ** 3 }, 2).kind).toBe("single");
    expect(splitMatmul({ m: 1024, n: 1024, k: 1024, batches: 1, flops: 2 * 1024 ** 3 }, 2)).toEqual({ kind: "rows", starts: [0, 128, 256, 384, 512, 640, 736, 808, 864, 904, 936, 968, 1000, 1024] });
    expect(splitMatmul({ m: 128, n: 256, k: 784, batches: 1, flops: 2 * 128 * 256 * 784 }, 2)).toEqual({ kind: "rows", starts: [0, 32, 56, 76, 92, 104, 112, 120, 128] });
    expect(splitMatmul({ m: 64, n: 64, k: 512, batches: 8, flops: 8 * 2 * 64 * 64 * 512 }, 2).kind).toBe("batches");
    expect(splitMatmul({ m: 8, n: 1000, k: 400, batches: 1, flops: 2 * 8 * 1000 * 400 }, 2)).toEqual({ kind: "columns", cuts: [0, 504, 1000] });
    expect(splitMatmul({ m: 1024, n: 1024, k: 1024, batches: 1, flops: 2 * 1024 ** 3 }, 1).kind).toBe("single");
  });

  it("splits K into the fewest equal blocks of at most KC", () => {
    expect([1, 200, 256, 257, 288, 784, 1024, 1025].map(balancedKc)).toEqual([1, 200, 256, 129, 144, 196, 256, 205]);
    for (let k = 1; k < 3000; k += 7) {
      const kc = balancedKc(k);
      expect(kc).toBeLessThanOrEqual(GEMM_KC);
      expect(Math.ceil(k / kc)).toBe(Math.ceil(k / GEMM_KC));
    }
  });

  it("cuts row chunks that shrink towards the end and cover every row once", () => {
    for (const [m, threads, minRows] of [[1024, 2, 32], [130, 2, 8], [7, 2, 8], [4096, 4, 8]] as const) {
      const starts = guidedRowStarts(m, threads, minRows);
      expect(starts[0]).toBe(0);
      expect(starts[starts.length - 1]).toBe(m);
      const sizes = starts.slice(1).map((s, c) => s - starts[c]!);
      expect(sizes.every((s) => s > 0 && s <= GEMM_MC)).toBe(true);
      expect(sizes.slice(0, -1).every((s, c) => s >= sizes[c + 1]! && s % GEMM_MR === 0 && s >= Math.min(minRows, m))).toBe(true);
    }
  });

  it.skipIf(!wasmFeatures().threads)("gives identical results with one and two threads, for every split", async () => {
    const ctx = sharedWasmContext()!;
    const pool = ctx.pool(2);
    if (pool === undefined) return; // a one-core machine: nothing to compare
    await pool.ready();
    const cases: [MatmulCase, string][] = [
      [mm2(130, 100, 200), "rows"],
      [mm2(300, 257, 61, true, false), "rows"],
      [mm2(97, 311, 140, false, true), "rows"],
      [{ aShape: [6, 90, 80], bShape: [90, 100], transposeA: true, transposeB: false }, "batches"],
      [{ aShape: [3, 100, 120], bShape: [3, 120, 100], transposeA: false, transposeB: false }, "batches"],
      [mm2(8, 400, 1000), "columns"],
    ];
    for (const [c, kind] of cases) {
      const one = runCase(ctx, c, 1, 7);
      for (let rep = 0; rep < 5; rep++) {
        const two = runCase(ctx, c, 2, 7);
        expect(two.split).toBe(kind);
        expect(Buffer.from(two.out.buffer).equals(Buffer.from(one.out.buffer)), `${kind} ${JSON.stringify(c)}`).toBe(true);
      }
      check(ctx, c, 2);
    }
  });
});
