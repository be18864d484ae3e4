/**
 * Helpers of the wasm backend tests: deterministic values, a float64 matmul by the
 * definition (with the absolute-value product for error bounds), and copying operands
 * into the wasm heap.
 */
import type { WasmHeap } from "../../runtime/wasm/heap.js";

/** Deterministic pseudo-random f32 values in [-1, 1). */
export const randomF32 = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
};

export interface MatmulCase {
  readonly aShape: readonly number[];
  readonly bShape: readonly number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** The result shape and, per element, the exact sum and Σ|a·b| (for a rounding-error bound). */
export const exactMatmul = (c: MatmulCase, a: Float32Array, b: Float32Array): { shape: number[]; exact: Float64Array; magnitude: Float64Array; k: number } => {
  const ar = c.aShape.length;
  const br = c.bShape.length;
  const [m, k] = c.transposeA ? [c.aShape[ar - 1]!, c.aShape[ar - 2]!] : [c.aShape[ar - 2]!, c.aShape[ar - 1]!];
  const n = c.transposeB ? c.bShape[br - 2]! : c.bShape[br - 1]!;
  const rank = Math.max(ar, br) - 2;
  const pad = (s: readonly number[]): number[] => [...new Array<number>(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const [pa, pb] = [pad(c.aShape), pad(c.bShape)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const batches = batch.reduce((x, y) => x * y, 1);
  const exact = new Float64Array(batches * m * n);
  const magnitude = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    let rest = t;
    let [ia, ib] = [0, 0];
    let [sa, sb] = [1, 1];
    for (let ax = rank - 1; ax >= 0; ax--) {
      const i = rest % batch[ax]!;
      rest = Math.floor(rest / batch[ax]!);
      ia += (pa[ax] === 1 ? 0 : i) * sa;
      ib += (pb[ax] === 1 ? 0 : i) * sb;
      sa *= pa[ax]!;
      sb *= pb[ax]!;
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let [s, mag] = [0, 0];
        for (let p = 0; p < k; p++) {
          const x = a[ia * m * k + (c.transposeA ? p * m + i : i * k + p)]!;
          const y = b[ib * k * n + (c.transposeB ? j * k + p : p * n + j)]!;
          s += x * y;
          mag += Math.abs(x * y);
        }
        exact[(t * m + i) * n + j] = s;
        magnitude[(t * m + i) * n + j] = mag;
      }
  }
  return { shape: [...batch, m, n], exact, magnitude, k };
};

/** Elements of `got` farther from `exact` than the float32 accumulation bound (k + 2)·2^-23·Σ|a·b|. */
export const outsideBound = (got: Float32Array, ref: { exact: Float64Array; magnitude: Float64Array; k: number }, limit = 5): string[] => {
  const bad: string[] = [];
  const unit = 2 ** -23;
  for (let i = 0; i < got.length && bad.length < limit; i++) {
    const bound = (ref.k + 2) * unit * ref.magnitude[i]! + 1e-30;
    if (!(Math.abs(got[i]! - ref.exact[i]!) <= bound)) bad.push(`[${i}] got ${got[i]} want ${ref.exact[i]} (bound ${bound.toExponential(2)})`);
  }
  return bad;
};

/** Copies `data` into a new heap block; returns its byte address. */
export const toHeap = (heap: WasmHeap, data: Float32Array | Uint8Array): number => {
  const at = heap.allocate(Math.max(data.byteLength, 1));
  new Uint8Array(heap.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return at;
};

/** mulberry32, so failures reproduce. */
export const seeded = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** f32 values agree: NaN with NaN, infinities exactly, else within `atol + rtol·|want|`. */
export const f32Mismatches = (got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, limit = 5): string[] => {
  const bad: string[] = [];
  if (got.length !== want.length) return [`length ${got.length} vs ${want.length}`];
  for (let i = 0; i < want.length && bad.length < limit; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) bad.push(`[${i}] ${g} vs ${w}`);
  }
  return bad;
};
