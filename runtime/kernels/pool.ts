/**
 * Pooling kernels over NCHW planes: max and average pooling, and the backprop ops that
 * make their gradients (and second-order gradients) ordinary graph ops.
 *
 * Takes the concrete shapes the shape rules checked (`compiler/rules/shapeWindow.ts`),
 * f32 or f64. Padding is never pooled: a window covers only its taps inside the input
 * (there is always at least one, since pads are smaller than the kernel), so the average
 * divides by the number of real elements.
 *
 * Max-pool ties: within a window, every element equal to the window's maximum is a
 * "winner" and shares the window equally (weight 1/winners), as `max` does. If a window
 * holds NaN its maximum is NaN and the NaN elements are the winners.
 * - maxPool2dBackprop(x, dy): dx[p] = Σ over windows that p wins of dy[window] / winners
 * - maxPool2dSelect(x, z):    out[window] = Σ over the window's winners p of z[p] / winners
 * (each is the adjoint of the other; maxPool2d(x) equals maxPool2dSelect(x, x)).
 * Guarantees: every output element is written; sums are accumulated in double and
 * rounded once on store.
 */
import type { Pool2dParams } from "../../src/ops.js";
import { poolWindow, type Window2d } from "../../src/graph/window.js";
import type { TensorValue, TypedArray } from "../value.js";
import { arg } from "./kernel.js";

type WindowKernel<P> = (inputs: readonly TensorValue[], params: P, out: TensorValue) => void;

/** Planes (batch·channels), input and output spatial sizes. */
interface PoolDims {
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
}

const poolDims = (xShape: readonly number[], yShape: readonly number[]): PoolDims => ({
  planes: xShape[0]! * xShape[1]!,
  h: xShape[2]!,
  w: xShape[3]!,
  oh: yShape[2]!,
  ow: yShape[3]!,
});

/**
 * Calls `visit(outIndex, y0, y1, x0, x1)` for every window of every plane with the
 * window's rows [y0, y1) and columns [x0, x1) clipped to the input (plane-relative), in
 * row-major output order.
 */
const forEachWindow = (d: PoolDims, win: Window2d, visit: (plane: number, at: number, y0: number, y1: number, x0: number, x1: number) => void): void => {
  for (let plane = 0; plane < d.planes; plane++) {
    for (let oy = 0; oy < d.oh; oy++) {
      const top = oy * win.sh - win.pt;
      const [y0, y1] = [Math.max(0, top), Math.min(d.h, top + win.kh)];
      for (let ox = 0; ox < d.ow; ox++) {
        const left = ox * win.sw - win.pl;
        visit(plane, (plane * d.oh + oy) * d.ow + ox, y0, y1, Math.max(0, left), Math.min(d.w, left + win.kw));
      }
    }
  }
};

/** The maximum of a window (NaN if it holds NaN). */
const windowMax = (x: TypedArray, base: number, w: number, y0: number, y1: number, x0: number, x1: number): number => {
  let m = -Infinity;
  for (let y = y0; y < y1; y++) {
    for (let i = base + y * w + x0, end = base + y * w + x1; i < end; i++) {
      const v = x[i]!;
      if (v > m || v !== v) {
        m = v;
        if (v !== v) return v;
      }
    }
  }
  return m;
};

/** Whether `v` is a winner of a window whose maximum is `m`. */
const wins = (v: number, m: number): boolean => v === m || (v !== v && m !== m);

/** The maximum of four values in window order (the first NaN if any; the first of equal maxima), as `windowMax` finds it. */
const max4 = (a: number, b: number, c: number, d: number): number => {
  if (a !== a) return a;
  let m = a;
  if (b > m || b !== b) {
    if (b !== b) return b;
    m = b;
  }
  if (c > m || c !== c) {
    if (c !== c) return c;
    m = c;
  }
  return d > m || d !== d ? d : m;
};

/** Whether a 2x2 stride-2 unpadded window stays inside the input for every output (the usual pooling layer). */
const isPlain2x2 = (win: Window2d, d: PoolDims): boolean =>
  win.kh === 2 && win.kw === 2 && win.sh === 2 && win.sw === 2 && win.pt === 0 && win.pl === 0 && 2 * d.oh <= d.h && 2 * d.ow <= d.w;

/** Winners of a window. */
const winnerCount = (x: TypedArray, base: number, w: number, m: number, y0: number, y1: number, x0: number, x1: number): number => {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let i = base + y * w + x0, end = base + y * w + x1; i < end; i++) if (wins(x[i]!, m)) n++;
  return n;
};

/** maxPool2d(x [B, C, H, W]) -> [B, C, OH, OW]: the largest element of each window. */
export const maxPool2dKernel: WindowKernel<Pool2dParams> = (inputs, p, out) => {
  const x = arg(inputs, 0);
  const d = poolDims(x.shape, out.shape);
  const win = poolWindow(p);
  const [xd, o] = [x.data, out.data];
  if (isPlain2x2(win, d)) {
    for (let plane = 0, at = 0; plane < d.planes; plane++) {
      for (let oy = 0; oy < d.oh; oy++) {
        const row = plane * d.h * d.w + 2 * oy * d.w;
        for (let ox = 0; ox < d.ow; ox++, at++) {
          const i = row + 2 * ox;
          o[at] = max4(xd[i]!, xd[i + 1]!, xd[i + d.w]!, xd[i + d.w + 1]!);
        }
      }
    }
    return;
  }
  forEachWindow(d, win, (plane, at, y0, y1, x0, x1) => {
    o[at] = windowMax(xd, plane * d.h * d.w, d.w, y0, y1, x0, x1);
  });
};

/**
 * maxPool2dBackprop(x, dy [B, C, OH, OW]) -> dx shaped like x: each window's dy shared by its winners.
 * Windows that cannot overlap (stride at least the kernel, as in the usual 2x2 / 2) give
 * each element at most one share, stored directly; overlapping ones accumulate in double.
 */
export const maxPool2dBackpropKernel: WindowKernel<Pool2dParams> = (inputs, p, out) => {
  const win = poolWindow(p);
  if (win.sh >= win.kh && win.sw >= win.kw) maxPool2dBackpropDisjoint(inputs, win, out);
  else maxPool2dBackpropAccumulating(inputs, p, out);
};

/** The disjoint-window case: one share per element at most, so no accumulator (same values: 0 + share is exact). */
const maxPool2dBackpropDisjoint = (inputs: readonly TensorValue[], win: Window2d, out: TensorValue): void => {
  const [x, dy] = [arg(inputs, 0), arg(inputs, 1)];
  const d = poolDims(x.shape, dy.shape);
  const [xd, dyd, o] = [x.data, dy.data, out.data];
  o.fill(0);
  if (isPlain2x2(win, d)) {
    for (let plane = 0, at = 0; plane < d.planes; plane++) {
      for (let oy = 0; oy < d.oh; oy++) {
        const row = plane * d.h * d.w + 2 * oy * d.w;
        for (let ox = 0; ox < d.ow; ox++, at++) {
          const i = row + 2 * ox;
          const j = i + d.w;
          const a = xd[i]!;
          const b = xd[i + 1]!;
          const c = xd[j]!;
          const e = xd[j + 1]!;
          const m = max4(a, b, c, e);
          // `wins` with the NaN test hoisted out of the four comparisons.
          const nan = m !== m;
          const wa = nan ? a !== a : a === m;
          const wb = nan ? b !== b : b === m;
          const wc = nan ? c !== c : c === m;
          const we = nan ? e !== e : e === m;
          const share = dyd[at]! / ((wa ? 1 : 0) + (wb ? 1 : 0) + (wc ? 1 : 0) + (we ? 1 : 0));
          if (wa) o[i] = share;
          if (wb) o[i + 1] = share;
          if (wc) o[j] = share;
          if (we) o[j + 1] = share;
        }
      }
    }
    return;
  }
  forEachWindow(d, win, (plane, at, y0, y1, x0, x1) => {
    const base = plane * d.h * d.w;
    const m = windowMax(xd, base, d.w, y0, y1, x0, x1);
    const share = dyd[at]! / winnerCount(xd, base, d.w, m, y0, y1, x0, x1);
    for (let y = y0; y < y1; y++) for (let i = base + y * d.w + x0, end = base + y * d.w + x1; i < end; i++) if (wins(xd[i]!, m)) o[i] = share;
  });
};

/**
 * The general case (windows may overlap): shares accumulated in double, rounded once on store.
 * @example maxPool2dBackpropAccumulating([x, dy], params, dx) // what maxPool2dBackpropKernel computes
 */
export const maxPool2dBackpropAccumulating: WindowKernel<Pool2dParams> = (inputs, p, out) => {
  const [x, dy] = [arg(inputs, 0), arg(inputs, 1)];
  const d = poolDims(x.shape, dy.shape);
  const acc = new Float64Array(out.data.length);
  const xd = x.data;
  forEachWindow(d, poolWindow(p), (plane, at, y0, y1, x0, x1) => {
    const base = plane * d.h * d.w;
    const m = windowMax(xd, base, d.w, y0, y1, x0, x1);
    const share = dy.data[at]! / winnerCount(xd, base, d.w, m, y0, y1, x0, x1);
    for (let y = y0; y < y1; y++) for (let i = base + y * d.w + x0, end = base + y * d.w + x1; i < end; i++) if (wins(xd[i]!, m)) acc[i]! += share;
  });
  out.data.set(acc);
};

/** maxPool2dSelect(x, z shaped like x) -> [B, C, OH, OW]: the mean of z over each window's winners in x. */
export const maxPool2dSelectKernel: WindowKernel<Pool2dParams> = (inputs, p, out) => {
  const [x, z] = [arg(inputs, 0), arg(inputs, 1)];
  const d = poolDims(x.shape, out.shape);
  const [xd, zd, o] = [x.data, z.data, out.data];
  forEachWindow(d, poolWindow(p), (plane, at, y0, y1, x0, x1) => {
    const base = plane * d.h * d.w;
    const m = windowMax(xd, base, d.w, y0, y1, x0, x1);
    let s = 0;
    let n = 0;
    for (let y = y0; y < y1; y++) {
      for (let i = base + y * d.w + x0, end = base + y * d.w + x1; i < end; i++) {
        if (wins(xd[i]!, m)) {
          s += zd[i]!;
          n++;
        }
      }
    }
    o[at] = s / n;
  });
};

/** avgPool2d(x [B, C, H, W]) -> [B, C, OH, OW]: the mean of each window's elements inside the input. */
export const avgPool2dKernel: WindowKernel<Pool2dParams> = (inputs, p, out) => {
  const x = arg(inputs, 0);
  const d = poolDims(x.shape, out.shape);
  const [xd, o] = [x.data, out.data];
  forEachWindow(d, poolWindow(p), (plane, at, y0, y1, x0, x1) => {
    const base = plane * d.h * d.w;
    let s = 0;
    for (let y = y0; y < y1; y++) for (let i = base + y * d.w + x0, end = base + y * d.w + x1; i < end; i++) s += xd[i]!;
    o[at] = s / ((y1 - y0) * (x1 - x0));
  });
};

/** avgPool2dBackprop(dy [B, C, OH, OW]) -> dx [B, C, H, W]: each window's dy spread evenly over its elements. */
export const avgPool2dBackpropKernel: WindowKernel<Pool2dParams & { readonly inputSize: readonly number[] }> = (inputs, p, out) => {
  const dy = arg(inputs, 0);
  const d = poolDims(out.shape, dy.shape);
  const acc = new Float64Array(out.data.length);
  forEachWindow(d, poolWindow(p), (plane, at, y0, y1, x0, x1) => {
    const base = plane * d.h * d.w;
    const share = dy.data[at]! / ((y1 - y0) * (x1 - x0));
    for (let y = y0; y < y1; y++) for (let i = base + y * d.w + x0, end = base + y * d.w + x1; i < end; i++) acc[i]! += share;
  });
  out.data.set(acc);
};
