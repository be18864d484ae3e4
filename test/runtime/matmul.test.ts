/**
 * Tiled matmul tests: against a naive triple loop written here (shapes with 1, primes,
 * non-multiples of the tile and of the cache blocks, k = 0), transposes read in place,
 * broadcast batch dims, f32 and f64, and bit-for-bit agreement with the reference kernel.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { gemm, createGemmScratch, BLOCK_K, BLOCK_M, BLOCK_N } from "../../runtime/matmul/gemm.js";
import { planMatmul, runMatmul, scratchFor, tiledMatmulKernel } from "../../runtime/matmul/batched.js";
import { kernels } from "../../runtime/kernels/index.js";
import { allocate, type TensorValue } from "../../runtime/value.js";

type Dtype = "f32" | "f64";

// Engine warnings from the whole file: asm.js validation happens on the first product.
const engineWarnings: string[] = [];
process.on("warning", (w) => void engineWarnings.push(w.message));

/** Deterministic pseudo-random values in [-1, 1). */
const values = (n: number, seed: number): number[] => {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  });
};

const tensor = (dtype: Dtype, shape: readonly number[], seed: number): TensorValue => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = allocate(dtype, n);
  values(n, seed).forEach((v, i) => (data[i] = v));
  return { dtype, shape, data };
};

/** a·b by the definition: out[..., i, j] = Σ_p A[..., i, p] B[..., p, j], batch dims broadcast. */
const naiveMatmul = (a: TensorValue, b: TensorValue, ta: boolean, tb: boolean): { shape: number[]; values: number[] } => {
  const ar = a.shape.length;
  const br = b.shape.length;
  const [m, k] = ta ? [a.shape[ar - 1]!, a.shape[ar - 2]!] : [a.shape[ar - 2]!, a.shape[ar - 1]!];
  const n = tb ? b.shape[br - 2]! : b.shape[br - 1]!;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: readonly number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aBatch), pad(bBatch)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const batches = batch.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let t = 0; t < batches; t++) {
    // multi-index of t, then each operand's flat batch index (size-1 dims read index 0)
    const idx: number[] = [];
    let rest = t;
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax] = rest % batch[ax]!;
      rest = Math.floor(rest / batch[ax]!);
    }
    const flat = (dims: number[]): number => dims.reduce((acc, d, ax) => acc * d + (d === 1 ? 0 : idx[ax]!), 0);
    const [ta0, tb0] = [flat(pa) * m * k, flat(pb) * k * n];
    const A = (i: number, p: number): number => a.data[ta0 + (ta ? p * m + i : i * k + p)]!;
    const B = (p: number, j: number): number => b.data[tb0 + (tb ? j * k + p : p * n + j)]!;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
        out.push(s);
      }
  }
  return { shape: [...batch, m, n], values: out };
};

const run = (a: TensorValue, b: TensorValue, ta: boolean, tb: boolean, kernel = tiledMatmulKernel): TensorValue => {
  const expected = naiveMatmul(a, b, ta, tb);
  const out: TensorValue = { dtype: a.dtype, shape: expected.shape, data: allocate(a.dtype, expected.values.length).fill(Number.NaN) };
  kernel([a, b], { transposeA: ta, transposeB: tb }, out);
  return out;
};

const expectClose = (got: TensorValue, want: { values: number[] }, dtype: Dtype): void => {
  expect(got.data.length).toBe(want.values.length);
  const tol = dtype === "f32" ? 1e-5 : 1e-12;
  for (let i = 0; i < want.values.length; i++) {
    const [g, w] = [got.data[i]!, want.values[i]!];
    if (Math.abs(g - w) > tol * (1 + Math.abs(w))) expect.fail(`element ${i}: got ${g}, want ${w}`);
  }
};

describe("tiled matmul against a naive loop", () => {
  const sizes = [1, 2, 3, 5, 7, 13, 31, 64, 67];
  it.each(["f32", "f64"] as const)("all (m, n, k) from sizes with 1, primes and non-multiples of the 2x4 tile (%s)", (dtype) => {
    let seed = 1;
    for (const m of sizes)
      for (const n of sizes)
        for (const k of [1, 3, 17, 64]) {
          const [a, b] = [tensor(dtype, [m, k], seed++), tensor(dtype, [k, n], seed++)];
          expectClose(run(a, b, false, false), naiveMatmul(a, b, false, false), dtype);
        }
  });

  it("crosses every cache-block boundary (m, n, k beyond one block, none a multiple)", () => {
    const [m, n, k] = [BLOCK_M + 37, BLOCK_N + 5, BLOCK_K * 2 + 3];
    const [a, b] = [tensor("f64", [m, k], 7), tensor("f64", [k, n], 8)];
    expectClose(run(a, b, false, false), naiveMatmul(a, b, false, false), "f64");
  });

  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])("transposeA=%s transposeB=%s reads the operand in place", (ta, tb) => {
    for (const [m, n, k] of [[5, 7, 3], [1, 9, 4], [6, 1, 11], [33, 29, 70]] as const) {
      const a = tensor("f32", ta ? [k, m] : [m, k], m + 10 * k);
      const b = tensor("f32", tb ? [n, k] : [k, n], n + 100 * k);
      expectClose(run(a, b, ta, tb), naiveMatmul(a, b, ta, tb), "f32");
    }
  });

  it("broadcasts batch dims (both sides, rank mismatch, size-1 dims) and folds an unbatched rhs", () => {
    const cases: [number[], number[]][] = [
      [[4, 3, 5], [5, 2]], // folded into one 12x5 product
      [[3, 5], [4, 5, 2]],
      [[2, 1, 3, 5], [1, 3, 5, 2]],
      [[1, 3, 5], [4, 5, 2]],
      [[2, 3, 4, 5], [3, 5, 6]],
    ];
    cases.forEach(([as, bs], i) => {
      const [a, b] = [tensor("f64", as, 3 * i + 1), tensor("f64", bs, 3 * i + 2)];
      expectClose(run(a, b, false, false), naiveMatmul(a, b, false, false), "f64");
    });
    expect(planMatmul([4, 3, 5], [5, 2], { transposeA: false, transposeB: false }, [4, 3, 2])).toMatchObject({ m: 12, batches: 1 });
    expect(planMatmul([4, 3, 5], [4, 5, 2], { transposeA: false, transposeB: false }, [4, 3, 2])).toMatchObject({ m: 3, batches: 4 });
  });

  it("k = 0 gives zeros and empty outputs write nothing", () => {
    const out = run(tensor("f32", [3, 0], 1), tensor("f32", [0, 5], 2), false, false);
    expect(Array.from(out.data)).toEqual(new Array<number>(15).fill(0));
    expect(run(tensor("f32", [0, 4], 1), tensor("f32", [4, 5], 2), false, false).data.length).toBe(0);
  });

  it("agrees with the reference kernel bit for bit (same order of accumulation), NaN and inf included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<Dtype>("f32", "f64"),
        fc.nat(),
        (m, n, k, ta, tb, dtype, seed) => {
          const a = tensor(dtype, ta ? [k, m] : [m, k], seed);
          const b = tensor(dtype, tb ? [n, k] : [k, n], seed + 1);
          if (k > 0 && seed % 3 === 0) {
            a.data[seed % a.data.length] = Number.POSITIVE_INFINITY;
            b.data[(seed * 7) % b.data.length] = Number.NaN;
          }
          const tiled = run(a, b, ta, tb);
          const reference = run(a, b, ta, tb, kernels.matmul);
          expect(Array.from(tiled.data)).toEqual(Array.from(reference.data));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("gemm writes through strides into a larger output and leaves the rest alone", () => {
    // C is the 3x4 top-right corner of a 5x9 array.
    const [m, n, k] = [3, 4, 6];
    const a = new Float64Array(values(m * k, 3));
    const b = new Float64Array(values(k * n, 4));
    const c = new Float64Array(45).fill(-7);
    gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 5, 9, createGemmScratch(m, n, k));
    const want = naiveMatmul({ dtype: "f64", shape: [m, k], data: a }, { dtype: "f64", shape: [k, n], data: b }, false, false).values;
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 9; j++) {
        const v = c[i * 9 + j]!;
        if (i < m && j >= 5) expect(v).toBeCloseTo(want[i * n + j - 5]!, 12);
        else expect(v).toBe(-7);
      }
  });

  it("rejects a scratch smaller than the product needs", () => {
    const plan = planMatmul([300, 300], [300, 300], { transposeA: false, transposeB: false }, [300, 300]);
    const small = scratchFor([planMatmul([4, 4], [4, 4], { transposeA: false, transposeB: false }, [4, 4])]);
    const [a, b] = [new Float64Array(90000), new Float64Array(90000)];
    expect(() => runMatmul(plan, a, b, new Float64Array(90000), small)).toThrow(/scratch too small for 300x300 times 300x300/);
  });
});

describe("the asm.js macro-kernel", () => {
  it("validated and linked without an engine warning (an invalid module silently runs as slower plain JS)", async () => {
    // Fresh heaps of several sizes, on top of every product run above.
    for (const [m, n, k] of [[2, 2, 3], [40, 30, 20], [BLOCK_M + 3, BLOCK_N + 1, BLOCK_K + 1]] as const) {
      const [a, b] = [tensor("f64", [m, k], m), tensor("f64", [k, n], n)];
      expectClose(run(a, b, false, false), naiveMatmul(a, b, false, false), "f64");
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(engineWarnings.filter((w) => /asm\.js/i.test(w))).toEqual([]);
  });
});
