/**
 * Convolution kernels: conv2d and its two backprop ops, by im2col and the tiled GEMM.
 *
 * Takes NCHW activations and OIHW weights with the concrete shapes the shape rules
 * checked (`compiler/rules/shapeWindow.ts`), for f32 and f64. For each image and channel
 * group the window taps are unrolled into a column matrix [C/groups·kh·kw, OH·OW] (zeros
 * for padding), and the convolution is one GEMM with the group's weights:
 * - conv2d:               y = W · cols
 * - conv2dBackpropInput:  dx = col2im(Wᵀ · dy)   (the transposed convolution)
 * - conv2dBackpropFilter: dW = Σ_images dy · colsᵀ (a correlation of x with dy)
 * Guarantees: every output element is written; products are accumulated in double and
 * rounded once on store (sums over images and overlapping windows too), so f32 results
 * are the f32 rounding of the double computation and runs are deterministic.
 */
import type { Conv2dParams } from "../../src/ops.js";
import { convWindow, type Window2d } from "../../src/graph/window.js";
import type { TensorValue, TypedArray } from "../value.js";
import { arg } from "./kernel.js";
import { createGemmScratch, gemm } from "../matmul/gemm.js";

type WindowKernel<P> = (inputs: readonly TensorValue[], params: P, out: TensorValue) => void;

/**
 * Unrolls `channels` planes of `x` starting at `base` into `cols` [channels·kh·kw, oh·ow]:
 * row (c, i, j) holds tap (i, j) of channel c for every output position (0 in padding).
 */
export const im2col = (
  x: TypedArray, base: number, channels: number, h: number, w: number,
  win: Window2d, oh: number, ow: number, cols: Float64Array,
): void => {
  const { kh, kw, sh, sw, dh, dw, pt, pl } = win;
  const l = oh * ow;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = base + c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const dst = row * l;
        // Output columns whose tap column is inside the input: ox in [x0, x1).
        const off = j * dw - pl;
        const x0 = Math.min(ow, Math.max(0, Math.ceil(-off / sw)));
        const x1 = Math.max(x0, Math.min(ow, Math.floor((w - 1 - off) / sw) + 1));
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + i * dh;
          const at = dst + oy * ow;
          if (iy < 0 || iy >= h) {
            cols.fill(0, at, at + ow);
            continue;
          }
          const src = plane + iy * w + off;
          for (let ox = 0; ox < x0; ox++) cols[at + ox] = 0;
          for (let ox = x0; ox < x1; ox++) cols[at + ox] = x[src + ox * sw]!;
          for (let ox = x1; ox < ow; ox++) cols[at + ox] = 0;
        }
      }
    }
  }
};

/** Adds `cols` [channels·kh·kw, oh·ow] back onto `channels` planes of `acc` (the adjoint of `im2col`). */
export const col2imAdd = (
  cols: Float64Array, channels: number, h: number, w: number,
  win: Window2d, oh: number, ow: number, acc: Float64Array,
): void => {
  const { kh, kw, sh, sw, dh, dw, pt, pl } = win;
  const l = oh * ow;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const src = row * l;
        const off = j * dw - pl;
        const x0 = Math.min(ow, Math.max(0, Math.ceil(-off / sw)));
        const x1 = Math.max(x0, Math.min(ow, Math.floor((w - 1 - off) / sw) + 1));
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + i * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w + off;
          const at = src + oy * ow;
          for (let ox = x0; ox < x1; ox++) acc[dst + ox * sw]! += cols[at + ox]!;
        }
      }
    }
  }
};

/** Sizes of one convolution: images, groups, channels per group, spatial sizes, window. */
interface ConvDims {
  readonly batch: number;
  readonly groups: number;
  /** Input channels per group. */
  readonly cg: number;
  /** Output channels per group. */
  readonly og: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly win: Window2d;
}

const convDims = (xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], p: Conv2dParams): ConvDims => {
  const [batch, c, h, w] = xShape as [number, number, number, number];
  const [o, , kh, kw] = wShape as [number, number, number, number];
  const [, , oh, ow] = yShape as [number, number, number, number];
  return { batch, groups: p.groups, cg: c / p.groups, og: o / p.groups, h, w, oh, ow, win: convWindow(p, kh, kw) };
};

/** True when cols would equal the input planes (1x1 kernel, stride 1, no padding). */
const isPointwise = (win: Window2d): boolean => win.kh === 1 && win.kw === 1 && win.sh === 1 && win.sw === 1 && win.pt + win.pb + win.pl + win.pr === 0;

/** conv2d(x [B, C, H, W], w [O, C/g, kh, kw]) -> y [B, O, OH, OW]. */
export const conv2dKernel: WindowKernel<Conv2dParams> = (inputs, p, out) => {
  const [x, wt] = [arg(inputs, 0), arg(inputs, 1)];
  const d = convDims(x.shape, wt.shape, out.shape, p);
  const { batch, groups, cg, og, h, w, oh, ow, win } = d;
  const k = cg * win.kh * win.kw;
  const l = oh * ow;
  const pointwise = isPointwise(win);
  const cols = new Float64Array(pointwise ? 0 : k * l);
  const scratch = createGemmScratch(og, l, k);
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < groups; g++) {
      const base = (b * groups + g) * cg * h * w;
      const outBase = (b * groups + g) * og * l;
      if (pointwise) gemm(og, l, k, wt.data, g * og * k, k, 1, x.data, base, l, 1, out.data, outBase, l, scratch);
      else {
        im2col(x.data, base, cg, h, w, win, oh, ow, cols);
        gemm(og, l, k, wt.data, g * og * k, k, 1, cols, 0, l, 1, out.data, outBase, l, scratch);
      }
    }
  }
};

/** conv2dBackpropInput(dy [B, O, OH, OW], w [O, C/g, kh, kw]) -> dx [B, C, H, W]: the transposed convolution. */
export const conv2dBackpropInputKernel: WindowKernel<Conv2dParams & { readonly inputSize: readonly number[] }> = (inputs, p, out) => {
  const [dy, wt] = [arg(inputs, 0), arg(inputs, 1)];
  const { batch, groups, cg, og, h, w, oh, ow, win } = convDims(out.shape, wt.shape, dy.shape, p);
  const k = cg * win.kh * win.kw;
  const l = oh * ow;
  const cols = new Float64Array(k * l);
  const acc = new Float64Array(cg * h * w);
  const scratch = createGemmScratch(k, l, og);
  const o = out.data;
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < groups; g++) {
      // cols = W_gᵀ · dy_g: A(i, p) = w[g·og·k + p·k + i].
      gemm(k, l, og, wt.data, g * og * k, 1, k, dy.data, (b * groups + g) * og * l, l, 1, cols, 0, l, scratch);
      acc.fill(0);
      col2imAdd(cols, cg, h, w, win, oh, ow, acc);
      const base = (b * groups + g) * cg * h * w;
      for (let i = 0; i < acc.length; i++) o[base + i] = acc[i]!;
    }
  }
};

/** conv2dBackpropFilter(x [B, C, H, W], dy [B, O, OH, OW]) -> dw [O, C/g, kh, kw]: Σ over images of dy · colsᵀ. */
export const conv2dBackpropFilterKernel: WindowKernel<Conv2dParams & { readonly kernelSize: readonly number[] }> = (inputs, p, out) => {
  const [x, dy] = [arg(inputs, 0), arg(inputs, 1)];
  const { batch, groups, cg, og, h, w, oh, ow, win } = convDims(x.shape, out.shape, dy.shape, p);
  const k = cg * win.kh * win.kw;
  const l = oh * ow;
  const pointwise = isPointwise(win);
  const cols = new Float64Array(pointwise ? 0 : k * l);
  const product = new Float64Array(og * k);
  const acc = new Float64Array(groups * og * k);
  const scratch = createGemmScratch(og, k, l);
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < groups; g++) {
      const base = (b * groups + g) * cg * h * w;
      const dyBase = (b * groups + g) * og * l;
      // product = dy_g · colsᵀ: B(p, j) = cols[j·l + p].
      if (pointwise) gemm(og, k, l, dy.data, dyBase, l, 1, x.data, base, 1, l, product, 0, k, scratch);
      else {
        im2col(x.data, base, cg, h, w, win, oh, ow, cols);
        gemm(og, k, l, dy.data, dyBase, l, 1, cols, 0, 1, l, product, 0, k, scratch);
      }
      const at = g * og * k;
      for (let i = 0; i < product.length; i++) acc[at + i]! += product[i]!;
    }
  }
  out.data.set(acc);
};
