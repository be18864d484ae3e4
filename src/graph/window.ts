/**
 * Window geometry of 2-D convolution and pooling over NCHW tensors, shared by the shape
 * rules, the kernels, the DSL (padding modes) and the ONNX mapping, so all of them agree
 * on output sizes and on which input element each window tap reads.
 *
 * Conventions: pairs are [height, width]; pads are [top, bottom, left, right]; a tap
 * (i, j) of the window at output (oy, ox) reads input row `oy·sh - pt + i·dh` and column
 * `ox·sw - pl + j·dw`, and reads padding when that falls outside the input.
 */
import type { Conv2dParams, Pool2dParams } from "../ops.js";

/** One window's geometry: kernel size, stride, dilation and padding on both axes. */
export interface Window2d {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly pt: number;
  readonly pb: number;
  readonly pl: number;
  readonly pr: number;
}

/** The window of a convolution with a `kh` x `kw` kernel. */
export const convWindow = (p: Conv2dParams, kh: number, kw: number): Window2d => ({
  kh,
  kw,
  sh: p.strides[0]!,
  sw: p.strides[1]!,
  dh: p.dilations[0]!,
  dw: p.dilations[1]!,
  pt: p.pads[0]!,
  pb: p.pads[1]!,
  pl: p.pads[2]!,
  pr: p.pads[3]!,
});

/** The window of a pooling op (no dilation). */
export const poolWindow = (p: Pool2dParams): Window2d => ({
  kh: p.kernel[0]!,
  kw: p.kernel[1]!,
  sh: p.strides[0]!,
  sw: p.strides[1]!,
  dh: 1,
  dw: 1,
  pt: p.pads[0]!,
  pb: p.pads[1]!,
  pl: p.pads[2]!,
  pr: p.pads[3]!,
});

/**
 * Output length along one axis: `floor((size + before + after - span) / stride) + 1` with
 * `span = (k - 1)·dilation + 1`; 0 or less when the window does not fit.
 * @example windowCount(28, 3, 2, 1, 0, 0) // 13
 */
export const windowCount = (size: number, k: number, stride: number, dilation: number, before: number, after: number): number => {
  const span = (k - 1) * dilation + 1;
  const room = size + before + after - span;
  return room < 0 ? 0 : Math.floor(room / stride) + 1;
};

/** Output [height, width] of a window over an input of [height, width]. */
export const windowOutput = (w: Window2d, h: number, wd: number): [number, number] => [
  windowCount(h, w.kh, w.sh, w.dh, w.pt, w.pb),
  windowCount(wd, w.kw, w.sw, w.dw, w.pl, w.pr),
];

/**
 * 'same' padding on one axis: the output has `ceil(size / stride)` entries and the
 * padding needed for that is split with the extra element after (as TensorFlow and
 * ONNX SAME_UPPER do).
 * @example samePadding(28, 3, 1, 1) // [1, 1]
 */
export const samePadding = (size: number, k: number, stride: number, dilation: number): [number, number] => {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + (k - 1) * dilation + 1 - size);
  const before = Math.floor(total / 2);
  return [before, total - before];
};

const isPositiveInt = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
const isNonNegativeInt = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

const pairProblem = (what: string, v: readonly number[], ok: (x: unknown) => boolean, wanted: string): string | undefined =>
  v.length === 2 && v.every(ok) ? undefined : `${what} must be two ${wanted} [height, width], got ${JSON.stringify(v)}`;

const padsProblem = (pads: readonly number[]): string | undefined =>
  pads.length === 4 && pads.every(isNonNegativeInt) ? undefined : `pads must be four non-negative integers [top, bottom, left, right], got ${JSON.stringify(pads)}`;

/** What is wrong with convolution params on their own (before shapes are known), if anything. */
export const convParamsProblem = (p: Conv2dParams): string | undefined =>
  pairProblem("strides", p.strides, isPositiveInt, "positive integers") ??
  pairProblem("dilations", p.dilations, isPositiveInt, "positive integers") ??
  padsProblem(p.pads) ??
  (isPositiveInt(p.groups) ? undefined : `groups must be a positive integer, got ${p.groups}`);

/** What is wrong with pooling params on their own, if anything (padding must be smaller than the window). */
export const poolParamsProblem = (p: Pool2dParams): string | undefined => {
  const bad = pairProblem("kernel", p.kernel, isPositiveInt, "positive integers") ?? pairProblem("strides", p.strides, isPositiveInt, "positive integers") ?? padsProblem(p.pads);
  if (bad !== undefined) return bad;
  const [kh, kw] = [p.kernel[0]!, p.kernel[1]!];
  const [pt, pb, pl, pr] = [p.pads[0]!, p.pads[1]!, p.pads[2]!, p.pads[3]!];
  return pt < kh && pb < kh && pl < kw && pr < kw
    ? undefined
    : `pads ${JSON.stringify(p.pads)} must be smaller than the kernel ${JSON.stringify(p.kernel)} (a window must hold at least one input element)`;
};
