/**
 * The single-matrix product C = A·B on typed arrays: cache-blocked, with packed panels
 * and a 2x4 register tile (Goto/BLIS structure, in portable JavaScript).
 *
 * Takes A (m x k) and B (k x n) as strided views (any row and column strides, so
 * transposed operands are read in place, never materialized) and C (m x n) as a
 * row-major view with a row stride. Guarantees: every element of C is written (k = 0
 * gives zeros); each element is accumulated in double, starting from 0, in order of k,
 * and rounded once on store, which is exactly what the reference kernel computes, so the
 * two agree bit for bit. A and B are only read; C must not overlap them.
 *
 * Blocking: B is packed KC x NR (NR = 4 columns, zero-padded) and A MR x KC (MR = 2
 * rows), as doubles, by plain JavaScript loops; the macro-kernel (asm.js, see below)
 * runs the 2x4 register tile over every pair of panels. Partial sums of a C block live in
 * an f64 accumulator between K blocks, so an f32 result is not rounded early. Packed
 * panels and accumulator share one ArrayBuffer, the asm.js heap the kernel is linked to.
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

/**
 * The macro-kernel, in the asm.js subset of JavaScript: for each 2-row panel of packed A
 * and each 4-column panel of packed B, a 2x4 register tile of doubles accumulates over kc
 * and is stored to the accumulator block (row stride `ld`), starting from 0 when `first`
 * and from the stored partial sums otherwise. Offsets are in bytes into the heap.
 *
 * Engines that validate asm.js (V8, SpiderMonkey) compile it ahead of time to typed
 * machine code: no map checks, int32 index math and one cheap bounds check per load, about
 * 1.7x the same loop as ordinary JIT-compiled JavaScript over Float64Arrays. Elsewhere, or
 * if validation fails, it runs as the ordinary JavaScript it is, with the same results.
 * Scalar f64 multiply then add, never fused: the rounding matches the reference kernel.
 */
const MACRO_KERNEL_ASMJS = `"use asm";
var heap = new stdlib.Float64Array(buffer);
var imul = stdlib.Math.imul;
function kernel(kc, mc, nc, pa, pb, pc, ld, first) {
  kc = kc | 0; mc = mc | 0; nc = nc | 0; pa = pa | 0; pb = pb | 0; pc = pc | 0; ld = ld | 0; first = first | 0;
  var ir = 0, jr = 0, a = 0, b = 0, end = 0, o0 = 0, o1 = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c03 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0, c13 = 0.0;
  var a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0;
  for (ir = 0; (ir | 0) < (mc | 0); ir = (ir + 2) | 0) {
    for (jr = 0; (jr | 0) < (nc | 0); jr = (jr + 4) | 0) {
      a = (pa + (imul(ir, kc) << 3)) | 0;
      b = (pb + (imul(jr, kc) << 3)) | 0;
      end = (a + (kc << 4)) | 0;
      o0 = (pc + (((imul(ir, ld) | 0) + jr) << 3)) | 0;
      o1 = (o0 + (ld << 3)) | 0;
      if (first) {
        c00 = 0.0; c01 = 0.0; c02 = 0.0; c03 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0; c13 = 0.0;
      } else {
        c00 = +heap[o0 >> 3]; c01 = +heap[(o0 + 8) >> 3]; c02 = +heap[(o0 + 16) >> 3]; c03 = +heap[(o0 + 24) >> 3];
        c10 = +heap[o1 >> 3]; c11 = +heap[(o1 + 8) >> 3]; c12 = +heap[(o1 + 16) >> 3]; c13 = +heap[(o1 + 24) >> 3];
      }
      while ((a | 0) < (end | 0)) {
        a0 = +heap[a >> 3]; a1 = +heap[(a + 8) >> 3];
        b0 = +heap[b >> 3]; b1 = +heap[(b + 8) >> 3]; b2 = +heap[(b + 16) >> 3]; b3 = +heap[(b + 24) >> 3];
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2; c03 = c03 + a0 * b3;
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2; c13 = c13 + a1 * b3;
        a = (a + 16) | 0;
        b = (b + 32) | 0;
      }
      heap[o0 >> 3] = c00; heap[(o0 + 8) >> 3] = c01; heap[(o0 + 16) >> 3] = c02; heap[(o0 + 24) >> 3] = c03;
      heap[o1 >> 3] = c10; heap[(o1 + 8) >> 3] = c11; heap[(o1 + 16) >> 3] = c12; heap[(o1 + 24) >> 3] = c13;
    }
  }
}
return { kernel: kernel };`;

/** `kernel(kc, mc, nc, aByte, bByte, accByte, ld, first)` over one heap (see MACRO_KERNEL_ASMJS). */
type MacroKernel = (kc: number, mc: number, nc: number, aByte: number, bByte: number, accByte: number, ld: number, first: number) => void;
type LinkKernel = (stdlib: typeof globalThis, foreign: undefined, buffer: ArrayBuffer) => { readonly kernel: MacroKernel };

// Compiled once per process (the engine caches the validated module); linked once per scratch.
let linkKernel: LinkKernel | undefined;
const link = (buffer: ArrayBuffer): MacroKernel => {
  linkKernel ??= new Function("stdlib", "foreign", "buffer", MACRO_KERNEL_ASMJS) as LinkKernel;
  return linkKernel(globalThis, undefined, buffer).kernel;
};

/**
 * asm.js heaps are 2^12..2^24 bytes in powers of two, or multiples of 2^24 (engines run a
 * module linked to any other size as plain JavaScript, with a console warning).
 */
const heapBytes = (bytes: number): number => {
  if (bytes > 1 << 24) return Math.ceil(bytes / (1 << 24)) * (1 << 24);
  return Math.max(1 << 12, 2 ** Math.ceil(Math.log2(bytes)));
};

/** Packing buffers and the f64 accumulator of one C block in one heap, with the kernel linked to it; reusable across calls. */
export interface GemmScratch {
  /** Packed A at element 0, packed B at `packedB`, the accumulator at `accumulator`. */
  readonly heap: Float64Array;
  readonly packedB: number;
  readonly accumulator: number;
  /** Elements of each region, for the size check. */
  readonly sizes: { readonly packedA: number; readonly packedB: number; readonly accumulator: number };
  readonly kernel: MacroKernel;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Element counts of the scratch a product of this size needs (never more than one block). */
export const gemmScratchSizes = (m: number, n: number, k: number): { packedA: number; packedB: number; accumulator: number } => {
  const mc = roundUp(Math.min(BLOCK_M, Math.max(m, 1)), TILE_ROWS);
  const nc = roundUp(Math.min(BLOCK_N, Math.max(n, 1)), TILE_COLS);
  const kc = Math.min(BLOCK_K, Math.max(k, 1));
  return { packedA: mc * kc, packedB: kc * nc, accumulator: mc * nc };
};

/** Bytes of a scratch from `createGemmScratch(m, n, k)`. */
export const gemmScratchBytes = (m: number, n: number, k: number): number => {
  const s = gemmScratchSizes(m, n, k);
  return heapBytes(8 * (s.packedA + s.packedB + s.accumulator));
};

/**
 * Scratch large enough for products up to (m, n, k); pass the largest sizes a program uses.
 * @example const scratch = createGemmScratch(512, 512, 512);
 */
export const createGemmScratch = (m: number, n: number, k: number): GemmScratch => {
  const sizes = gemmScratchSizes(m, n, k);
  const buffer = new ArrayBuffer(gemmScratchBytes(m, n, k));
  return { heap: new Float64Array(buffer), packedB: sizes.packedA, accumulator: sizes.packedA + sizes.packedB, sizes, kernel: link(buffer) };
};

const fits = (scratch: GemmScratch, m: number, n: number, k: number): boolean => {
  const s = gemmScratchSizes(m, n, k);
  const have = scratch.sizes;
  return have.packedA >= s.packedA && have.packedB >= s.packedB && have.accumulator >= s.accumulator;
};

/** Packs B(pc.., jc..) as column panels of TILE_COLS, each kc rows deep, zero-padded past nc. */
const packB = (b: TypedArray, base: number, rowStride: number, colStride: number, kc: number, nc: number, out: Float64Array, at0: number): void => {
  let q = at0;
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
  const { heap, packedB, accumulator, kernel } = scratch;
  for (let jc = 0; jc < n; jc += BLOCK_N) {
    const nc = Math.min(BLOCK_N, n - jc);
    const ld = roundUp(nc, TILE_COLS);
    for (let ic = 0; ic < m; ic += BLOCK_M) {
      const mc = Math.min(BLOCK_M, m - ic);
      for (let pc = 0; pc < k; pc += BLOCK_K) {
        const kc = Math.min(BLOCK_K, k - pc);
        packB(b, bBase + pc * bRow + jc * bCol, bRow, bCol, kc, nc, heap, packedB);
        packA(a, aBase + ic * aRow + pc * aCol, aRow, aCol, mc, kc, heap);
        kernel(kc, mc, nc, 0, 8 * packedB, 8 * accumulator, ld, pc === 0 ? 1 : 0);
      }
      for (let i = 0; i < mc; i++) {
        const from = accumulator + i * ld;
        const to = cBase + (ic + i) * cRow + jc;
        for (let j = 0; j < nc; j++) c[to + j] = heap[from + j]!;
      }
    }
  }
};
