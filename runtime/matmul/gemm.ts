/**
 * The single-matrix product C = A·B on typed arrays: cache-blocked, with packed panels
 * and a 2x4 register tile (Goto/BLIS structure, in plain JS).
 *
 * Takes A (m x k) and B (k x n) as strided views (any row and column strides, so
 * transposed operands are read in place, never materialized) and C (m x n) as a
 * row-major view with a row stride. Guarantees: every element of C is written (k = 0
 * gives zeros); each element is accumulated in double, starting from 0, in order of k,
 * and rounded once on store, which is exactly what the reference kernel computes, so the
 * two agree bit for bit. A and B are only read; C must not overlap them.
 *
 * Blocking: B is packed KC x NR (NR = 4 columns, zero-padded) and A MR x KC (MR = 2
 * rows); the micro-kernel keeps 8 accumulators in registers. Partial sums of a C block
 * live in a Float64Array accumulator between K blocks, so an f32 result is not rounded
 * early.
 */
import type { TypedArray } from "../value.js";

/** Rows of the register tile. */
export const TILE_ROWS = 2;
/** Columns of the register tile. */
export const TILE_COLS = 4;
/** Depth of a packed block (elements of k per pass over C). */
export const BLOCK_K = 256;
/** Rows of A packed per block. */
export const BLOCK_M = 128;
/** Columns of B packed per block. */
export const BLOCK_N = 256;

/** Packing buffers and the f64 accumulator of one C block; reusable across calls. */
export interface GemmScratch {
  readonly packedA: Float64Array;
  readonly packedB: Float64Array;
  readonly accumulator: Float64Array;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Element counts of the scratch a product of this size needs (never more than one block). */
export const gemmScratchSizes = (m: number, n: number, k: number): { packedA: number; packedB: number; accumulator: number } => {
  const mc = roundUp(Math.min(BLOCK_M, Math.max(m, 1)), TILE_ROWS);
  const nc = roundUp(Math.min(BLOCK_N, Math.max(n, 1)), TILE_COLS);
  const kc = Math.min(BLOCK_K, Math.max(k, 1));
  return { packedA: mc * kc, packedB: kc * nc, accumulator: mc * nc };
};

/**
 * Scratch large enough for products up to (m, n, k); pass the largest sizes a program uses.
 * @example const scratch = createGemmScratch(512, 512, 512);
 */
export const createGemmScratch = (m: number, n: number, k: number): GemmScratch => {
  const s = gemmScratchSizes(m, n, k);
  return { packedA: new Float64Array(s.packedA), packedB: new Float64Array(s.packedB), accumulator: new Float64Array(s.accumulator) };
};

/** Bytes of a scratch from `createGemmScratch(m, n, k)`. */
export const gemmScratchBytes = (m: number, n: number, k: number): number => {
  const s = gemmScratchSizes(m, n, k);
  return 8 * (s.packedA + s.packedB + s.accumulator);
};

const fits = (scratch: GemmScratch, m: number, n: number, k: number): boolean => {
  const s = gemmScratchSizes(m, n, k);
  return scratch.packedA.length >= s.packedA && scratch.packedB.length >= s.packedB && scratch.accumulator.length >= s.accumulator;
};

/** Packs B(pc.., jc..) as column panels of TILE_COLS, each kc rows deep, zero-padded past nc. */
const packB = (b: TypedArray, base: number, rowStride: number, colStride: number, kc: number, nc: number, out: Float64Array): void => {
  let q = 0;
  for (let jr = 0; jr < nc; jr += TILE_COLS) {
    const col = base + jr * colStride;
    if (jr + TILE_COLS <= nc) {
      const c1 = colStride;
      const c2 = 2 * colStride;
      const c3 = 3 * colStride;
      for (let p = 0, at = col; p < kc; p++, at += rowStride) {
        out[q] = b[at]!;
        out[q + 1] = b[at + c1]!;
        out[q + 2] = b[at + c2]!;
        out[q + 3] = b[at + c3]!;
        q += 4;
      }
    } else {
      const valid = nc - jr;
      for (let p = 0, at = col; p < kc; p++, at += rowStride) {
        for (let c = 0; c < TILE_COLS; c++) out[q + c] = c < valid ? b[at + c * colStride]! : 0;
        q += 4;
      }
    }
  }
};

/** Packs A(ic.., pc..) as row panels of TILE_ROWS, each kc columns deep, zero-padded past mc. */
const packA = (a: TypedArray, base: number, rowStride: number, colStride: number, mc: number, kc: number, out: Float64Array): void => {
  let q = 0;
  for (let ir = 0; ir < mc; ir += TILE_ROWS) {
    const row0 = base + ir * rowStride;
    if (ir + 1 < mc) {
      for (let p = 0, at = row0; p < kc; p++, at += colStride) {
        out[q] = a[at]!;
        out[q + 1] = a[at + rowStride]!;
        q += 2;
      }
    } else {
      for (let p = 0, at = row0; p < kc; p++, at += colStride) {
        out[q] = a[at]!;
        out[q + 1] = 0;
        q += 2;
      }
    }
  }
};

/**
 * The register tile: acc[o.., 2 rows x 4 cols, row stride ld] (+)= Apanel · Bpanel over kc.
 * Only Float64Arrays are touched here, so V8 keeps this loop monomorphic.
 */
const microKernel = (kc: number, pa: Float64Array, a: number, pb: Float64Array, b: number, acc: Float64Array, o: number, ld: number, first: boolean): void => {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  const o1 = o + ld;
  if (!first) {
    c00 = acc[o]!; c01 = acc[o + 1]!; c02 = acc[o + 2]!; c03 = acc[o + 3]!;
    c10 = acc[o1]!; c11 = acc[o1 + 1]!; c12 = acc[o1 + 2]!; c13 = acc[o1 + 3]!;
  }
  for (const end = a + 2 * kc; a < end; a += 2, b += 4) {
    const a0 = pa[a]!;
    const a1 = pa[a + 1]!;
    const b0 = pb[b]!;
    const b1 = pb[b + 1]!;
    const b2 = pb[b + 2]!;
    const b3 = pb[b + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
  }
  acc[o] = c00; acc[o + 1] = c01; acc[o + 2] = c02; acc[o + 3] = c03;
  acc[o1] = c10; acc[o1 + 1] = c11; acc[o1 + 2] = c12; acc[o1 + 3] = c13;
};

/** Matrix-vector products (m = 1 or n = 1), where a register tile would mostly hold padding. */
const gemv = (
  m: number, n: number, k: number,
  a: TypedArray, aBase: number, aRow: number, aCol: number,
  b: TypedArray, bBase: number, bRow: number, bCol: number,
  c: TypedArray, cBase: number, cRow: number,
): void => {
  for (let i = 0; i < m; i++) {
    const ai = aBase + i * aRow;
    for (let j = 0; j < n; j++) {
      const bj = bBase + j * bCol;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p * aCol]! * b[bj + p * bRow]!;
      c[cBase + i * cRow + j] = s;
    }
  }
};

/**
 * C = A·B where A(i, p) = a[aBase + i·aRow + p·aCol], B(p, j) = b[bBase + p·bRow + j·bCol]
 * and C(i, j) = c[cBase + i·cRow + j]. `scratch` must come from `createGemmScratch` with
 * sizes at least (m, n, k).
 * @example
 * // 2x3 times 3x2, both row-major
 * gemm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0, 2, createGemmScratch(2, 2, 3));
 */
export const gemm = (
  m: number, n: number, k: number,
  a: TypedArray, aBase: number, aRow: number, aCol: number,
  b: TypedArray, bBase: number, bRow: number, bCol: number,
  c: TypedArray, cBase: number, cRow: number,
  scratch: GemmScratch,
): void => {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    for (let i = 0; i < m; i++) c.fill(0, cBase + i * cRow, cBase + i * cRow + n);
    return;
  }
  if (m === 1 || n === 1) {
    gemv(m, n, k, a, aBase, aRow, aCol, b, bBase, bRow, bCol, c, cBase, cRow);
    return;
  }
  if (!fits(scratch, m, n, k)) throw new RangeError(`gemm: scratch too small for ${m}x${k} times ${k}x${n}`);
  const { packedA, packedB, accumulator } = scratch;
  for (let jc = 0; jc < n; jc += BLOCK_N) {
    const nc = Math.min(BLOCK_N, n - jc);
    const ld = roundUp(nc, TILE_COLS);
    for (let ic = 0; ic < m; ic += BLOCK_M) {
      const mc = Math.min(BLOCK_M, m - ic);
      for (let pc = 0; pc < k; pc += BLOCK_K) {
        const kc = Math.min(BLOCK_K, k - pc);
        packB(b, bBase + pc * bRow + jc * bCol, bRow, bCol, kc, nc, packedB);
        packA(a, aBase + ic * aRow + pc * aCol, aRow, aCol, mc, kc, packedA);
        const first = pc === 0;
        for (let ir = 0; ir < mc; ir += TILE_ROWS) {
          const aPanel = ir * kc;
          const accRow = ir * ld;
          for (let jr = 0; jr < nc; jr += TILE_COLS) microKernel(kc, packedA, aPanel, packedB, jr * kc, accumulator, accRow + jr, ld, first);
        }
      }
      for (let i = 0; i < mc; i++) {
        const from = i * ld;
        const to = cBase + (ic + i) * cRow + jc;
        for (let j = 0; j < nc; j++) c[to + j] = accumulator[from + j]!;
      }
    }
  }
};
