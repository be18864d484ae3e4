/**
 * ONNX mapping of the windowed ops (conv2d, pooling and their backprop ops) and the
 * counter-based random op, spread into the rule table of `rules.ts`.
 *
 * Takes a node whose inputs are named ONNX values; returns the name of its result.
 * f32 uses ONNX's own ops where their semantics are typegrad's: Conv (pads
 * [top, left, bottom, right], strides, dilations, group), ConvTranspose (output_padding
 * restores the input size), MaxPool (both float dtypes) and AveragePool
 * (count_include_pad 0: padding is not counted). ONNX Runtime has no double Conv,
 * ConvTranspose or AveragePool, so f64, the filter gradient and the max-pool backprop ops
 * use an exact composition: the window taps are gathered with a constant index table
 * (im2col as `Gather`), multiplied with `MatMul`, and scattered back (col2im) by gathering,
 * for each input element, the list of taps that read it and summing.
 * randomUniform reproduces the kernel's integer arithmetic in doubles (`Mod` with fmod, all
 * products below 2^53), so its values are bit-identical.
 */
import { Op, type DType, type Pool2dParams, type RuntimeDim } from "../../src/ops.js";
import type { NodeOf } from "../../src/graph/node.js";
import { convWindow, poolWindow, type Window2d } from "../../src/graph/window.js";
import {
  RANDOM_MODULUS, RANDOM_RESOLUTION, RANDOM_ROUND_CONSTANTS, randomRound, residue,
} from "../../runtime/kernels/random.js";
import { ONNX_DTYPE, type OnnxEmitter } from "./emit.js";
import type { OnnxRule } from "./rules.js";

type WindowOp =
  | typeof Op.Conv2d
  | typeof Op.Conv2dBackpropInput
  | typeof Op.Conv2dBackpropFilter
  | typeof Op.MaxPool2d
  | typeof Op.MaxPool2dBackprop
  | typeof Op.MaxPool2dSelect
  | typeof Op.AvgPool2d
  | typeof Op.AvgPool2dBackprop
  | typeof Op.RandomUniform;

/** ONNX pads order: [top, left, bottom, right]. */
const onnxPads = (w: Window2d): number[] => [w.pt, w.pl, w.pb, w.pr];

/** Sizes of one windowed op: batch (maybe symbolic), channels, input and output spatial sizes. */
interface Geometry {
  readonly b: RuntimeDim;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly win: Window2d;
}

const dims4 = (shape: readonly RuntimeDim[]): [RuntimeDim, number, number, number] => [shape[0]!, shape[1] as number, shape[2] as number, shape[3] as number];

/** Geometry from the NCHW input shape and the NCHW output shape. */
const geometry = (input: readonly RuntimeDim[], output: readonly RuntimeDim[], win: Window2d): Geometry => {
  const [b, c, h, w] = dims4(input);
  return { b, c, h, w, oh: output[2] as number, ow: output[3] as number, win };
};

/**
 * The window taps of x [B, C, H, W] as [B, C, kh·kw, OH·OW], padding filled with `padValue`:
 * one Gather along the flattened (padded) plane.
 */
const gatherTaps = (emit: OnnxEmitter, x: string, g: Geometry, dtype: DType, padValue: number): string => {
  const { win } = g;
  const [hp, wp] = [g.h + win.pt + win.pb, g.w + win.pl + win.pr];
  const padded = onnxPads(win).some((p) => p > 0)
    ? emit.op("Pad", [x, emit.int64s([0, 0, win.pt, win.pl, 0, 0, win.pb, win.pr]), emit.scalar(padValue, dtype)], { mode: "constant" })
    : x;
  const flat = emit.op("Reshape", [padded, emit.shape([g.b, g.c, hp * wp])], { allowzero: 1 });
  const l = g.oh * g.ow;
  const index = new Int32Array(win.kh * win.kw * l);
  for (let i = 0; i < win.kh; i++)
    for (let j = 0; j < win.kw; j++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) index[((i * win.kw + j) * g.oh + oy) * g.ow + ox] = (oy * win.sh + i * win.dh) * wp + ox * win.sw + j * win.dw;
  return emit.op("Gather", [flat, emit.tensor(index, [win.kh * win.kw, l], "i32")], { axis: 2 });
};

/**
 * col2im: `cols` [B, C, kh·kw·OH·OW] (tap-major, as `gatherTaps` lays them out) summed back
 * onto [B, C, H, W]. Each input element gathers the taps that read it (padded with an
 * appended zero) and sums them.
 */
const scatterTaps = (emit: OnnxEmitter, cols: string, g: Geometry, dtype: DType): string => {
  const { win } = g;
  const l = g.oh * g.ow;
  const zero = win.kh * win.kw * l;
  const lists: number[][] = Array.from({ length: g.h * g.w }, () => []);
  for (let i = 0; i < win.kh; i++)
    for (let j = 0; j < win.kw; j++)
      for (let oy = 0; oy < g.oh; oy++) {
        const y = oy * win.sh - win.pt + i * win.dh;
        if (y < 0 || y >= g.h) continue;
        for (let ox = 0; ox < g.ow; ox++) {
          const x = ox * win.sw - win.pl + j * win.dw;
          if (x >= 0 && x < g.w) lists[y * g.w + x]!.push((i * win.kw + j) * l + oy * g.ow + ox);
        }
      }
  const width = Math.max(1, ...lists.map((t) => t.length));
  const index = new Int32Array(g.h * g.w * width).fill(zero);
  lists.forEach((t, q) => index.set(t, q * width));
  const withZero = emit.op("Pad", [cols, emit.int64s([0, 0, 0, 0, 0, 1]), emit.scalar(0, dtype)], { mode: "constant" });
  const picked = emit.op("Gather", [withZero, emit.tensor(index, [g.h * g.w, width], "i32")], { axis: 2 });
  const summed = emit.op("ReduceSum", [picked, emit.int64s([3])], { keepdims: 0 });
  return emit.op("Reshape", [summed, emit.shape([g.b, g.c, g.h, g.w])], { allowzero: 1 });
};

/** The number of real (unpadded) elements of each window, as a constant [OH·OW]. */
const windowCounts = (emit: OnnxEmitter, g: Geometry, dtype: DType): string => {
  const { win } = g;
  const counts = new Float64Array(g.oh * g.ow);
  for (let oy = 0; oy < g.oh; oy++) {
    const top = oy * win.sh - win.pt;
    const rows = Math.min(g.h, top + win.kh) - Math.max(0, top);
    for (let ox = 0; ox < g.ow; ox++) {
      const left = ox * win.sw - win.pl;
      counts[oy * g.ow + ox] = rows * (Math.min(g.w, left + win.kw) - Math.max(0, left));
    }
  }
  return emit.tensor(counts, [g.oh * g.ow], dtype);
};

/** conv2d as im2col and a grouped MatMul: [G, Og, K] · [B, G, K, L] -> [B, G, Og, L]. */
const convByGather = (emit: OnnxEmitter, node: NodeOf<typeof Op.Conv2d>, x: string, w: string): string => {
  const [o, cg, kh, kw] = node.inputs[1]!.shape as readonly number[] as [number, number, number, number];
  const g = geometry(node.inputs[0]!.shape, node.shape, convWindow(node.params, kh, kw));
  const groups = node.params.groups;
  const k = cg * kh * kw;
  const taps = gatherTaps(emit, x, g, node.dtype, 0);
  const cols = emit.op("Reshape", [taps, emit.shape([g.b, groups, k, g.oh * g.ow])], { allowzero: 1 });
  const weights = emit.op("Reshape", [w, emit.int64s([groups, o / groups, k])], { allowzero: 1 });
  return emit.op("Reshape", [emit.op("MatMul", [weights, cols]), emit.shape(node.shape)], { allowzero: 1 });
};

const conv2d: OnnxRule<typeof Op.Conv2d> = ({ node, inputs, emit }) => {
  if (node.dtype === "f64") return convByGather(emit, node, inputs[0]!, inputs[1]!);
  const [kh, kw] = [node.inputs[1]!.shape[2] as number, node.inputs[1]!.shape[3] as number];
  const win = convWindow(node.params, kh, kw);
  return emit.op("Conv", inputs, {
    kernel_shape: [kh, kw],
    strides: [win.sh, win.sw],
    dilations: [win.dh, win.dw],
    pads: onnxPads(win),
    group: node.params.groups,
  });
};

const conv2dBackpropInput: OnnxRule<typeof Op.Conv2dBackpropInput> = ({ node, inputs, emit }) => {
  const [dy, w] = [inputs[0]!, inputs[1]!];
  const [o, cg, kh, kw] = node.inputs[1]!.shape as readonly number[] as [number, number, number, number];
  const win = convWindow(node.params, kh, kw);
  const g = geometry(node.shape, node.inputs[0]!.shape, win);
  if (node.dtype === "f32") {
    // ONNX output size: s·(OH - 1) + output_padding + (k - 1)·d + 1 - pads; output_padding < s.
    const extra = (size: number, out: number, k: number, s: number, d: number, before: number, after: number): number =>
      size + before + after - (s * (out - 1) + (k - 1) * d + 1);
    return emit.op("ConvTranspose", [dy, w], {
      kernel_shape: [kh, kw],
      strides: [win.sh, win.sw],
      dilations: [win.dh, win.dw],
      pads: onnxPads(win),
      group: node.params.groups,
      output_padding: [extra(g.h, g.oh, kh, win.sh, win.dh, win.pt, win.pb), extra(g.w, g.ow, kw, win.sw, win.dw, win.pl, win.pr)],
    });
  }
  const groups = node.params.groups;
  const k = cg * kh * kw;
  const l = g.oh * g.ow;
  const grads = emit.op("Reshape", [dy, emit.shape([g.b, groups, o / groups, l])], { allowzero: 1 });
  const weightsT = emit.op("Transpose", [emit.op("Reshape", [w, emit.int64s([groups, o / groups, k])], { allowzero: 1 })], { perm: [0, 2, 1] });
  const cols = emit.op("Reshape", [emit.op("MatMul", [weightsT, grads]), emit.shape([g.b, g.c, kh * kw * l])], { allowzero: 1 });
  return scatterTaps(emit, cols, g, node.dtype);
};

const conv2dBackpropFilter: OnnxRule<typeof Op.Conv2dBackpropFilter> = ({ node, inputs, emit }) => {
  const [x, dy] = [inputs[0]!, inputs[1]!];
  const [o, cg, kh, kw] = node.shape as readonly number[] as [number, number, number, number];
  const g = geometry(node.inputs[0]!.shape, node.inputs[1]!.shape, convWindow(node.params, kh, kw));
  const groups = node.params.groups;
  const k = cg * kh * kw;
  const l = g.oh * g.ow;
  const taps = gatherTaps(emit, x, g, node.dtype, 0);
  const colsT = emit.op("Transpose", [emit.op("Reshape", [taps, emit.shape([g.b, groups, k, l])], { allowzero: 1 })], { perm: [0, 1, 3, 2] });
  const grads = emit.op("Reshape", [dy, emit.shape([g.b, groups, o / groups, l])], { allowzero: 1 });
  const perImage = emit.op("MatMul", [grads, colsT]);
  return emit.op("Reshape", [emit.op("ReduceSum", [perImage, emit.int64s([0])], { keepdims: 0 }), emit.int64s([o, cg, kh, kw])], { allowzero: 1 });
};

const poolGeometry = (p: Pool2dParams, input: readonly RuntimeDim[], output: readonly RuntimeDim[]): Geometry => geometry(input, output, poolWindow(p));

/** Each window's share weights: 1/winners at the winners of x, 0 elsewhere; [B, C, kh·kw, L]. */
const winnerShares = (emit: OnnxEmitter, x: string, g: Geometry, dtype: DType): string => {
  const taps = gatherTaps(emit, x, g, dtype, -Infinity);
  const max = emit.op("ReduceMax", [taps, emit.int64s([2])], { keepdims: 1 });
  const hits = emit.op("Cast", [emit.op("Equal", [taps, max])], { to: ONNX_DTYPE[dtype] });
  return emit.op("Div", [hits, emit.op("ReduceSum", [hits, emit.int64s([2])], { keepdims: 1 })]);
};

const poolAttributes = (win: Window2d): Readonly<Record<string, readonly number[]>> => ({
  kernel_shape: [win.kh, win.kw],
  strides: [win.sh, win.sw],
  pads: onnxPads(win),
});

/** The rules of the windowed ops and the random op. */
export const windowOnnxRules: { readonly [K in WindowOp]: OnnxRule<K> } = {
  [Op.Conv2d]: conv2d,
  [Op.Conv2dBackpropInput]: conv2dBackpropInput,
  [Op.Conv2dBackpropFilter]: conv2dBackpropFilter,
  [Op.MaxPool2d]: ({ node, inputs, emit }) => emit.op("MaxPool", inputs, poolAttributes(poolWindow(node.params))),
  [Op.MaxPool2dBackprop]: ({ node, inputs, emit }) => {
    const g = poolGeometry(node.params, node.shape, node.inputs[1]!.shape);
    const shares = winnerShares(emit, inputs[0]!, g, node.dtype);
    const grads = emit.op("Reshape", [inputs[1]!, emit.shape([g.b, g.c, 1, g.oh * g.ow])], { allowzero: 1 });
    const cols = emit.op("Reshape", [emit.op("Mul", [shares, grads]), emit.shape([g.b, g.c, g.win.kh * g.win.kw * g.oh * g.ow])], { allowzero: 1 });
    return scatterTaps(emit, cols, g, node.dtype);
  },
  [Op.MaxPool2dSelect]: ({ node, inputs, emit }) => {
    const g = poolGeometry(node.params, node.inputs[0]!.shape, node.shape);
    const shares = winnerShares(emit, inputs[0]!, g, node.dtype);
    const values = gatherTaps(emit, inputs[1]!, g, node.dtype, 0);
    const picked = emit.op("ReduceSum", [emit.op("Mul", [shares, values]), emit.int64s([2])], { keepdims: 0 });
    return emit.op("Reshape", [picked, emit.shape(node.shape)], { allowzero: 1 });
  },
  [Op.AvgPool2d]: ({ node, inputs, emit }) => {
    const win = poolWindow(node.params);
    if (node.dtype === "f32") return emit.op("AveragePool", inputs, { ...poolAttributes(win), count_include_pad: 0 });
    const g = poolGeometry(node.params, node.inputs[0]!.shape, node.shape);
    const sums = emit.op("ReduceSum", [gatherTaps(emit, inputs[0]!, g, node.dtype, 0), emit.int64s([2])], { keepdims: 0 });
    return emit.op("Reshape", [emit.op("Div", [sums, windowCounts(emit, g, node.dtype)]), emit.shape(node.shape)], { allowzero: 1 });
  },
  [Op.AvgPool2dBackprop]: ({ node, inputs, emit }) => {
    const g = poolGeometry(node.params, node.shape, node.inputs[0]!.shape);
    const l = g.oh * g.ow;
    const taps = g.win.kh * g.win.kw;
    const grads = emit.op("Reshape", [inputs[0]!, emit.shape([g.b, g.c, 1, l])], { allowzero: 1 });
    const shares = emit.op("Expand", [emit.op("Div", [grads, windowCounts(emit, g, node.dtype)]), emit.int64s([1, 1, taps, l])]);
    return scatterTaps(emit, emit.op("Reshape", [shares, emit.shape([g.b, g.c, taps * l])], { allowzero: 1 }), g, node.dtype);
  },
  [Op.RandomUniform]: ({ node, inputs, emit }) => {
    const f64 = (v: number): string => emit.scalar(v, "f64");
    const P = f64(RANDOM_MODULUS);
    const mod = (v: string): string => emit.op("Mod", [v, P], { fmod: 1 });
    const round = (x: string, k: string): string => mod(emit.op("Add", [emit.op("Mul", [mod(emit.op("Mul", [x, x])), x]), k]));
    const [c0, c1, c2, c3] = RANDOM_ROUND_CONSTANTS.map(f64) as [string, string, string, string];
    const key = mod(emit.op("Add", [mod(emit.op("Cast", [inputs[0]!], { to: ONNX_DTYPE.f64 })), P]));
    const mixedKey = round(mod(emit.op("Add", [key, c2])), c0);
    const [r1, r3] = [RANDOM_ROUND_CONSTANTS[1], RANDOM_ROUND_CONSTANTS[3]];
    const stream = f64(randomRound((residue(node.params.stream) + r3) % RANDOM_MODULUS, r1));
    const a = round(mod(emit.op("Add", [mixedKey, stream])), c2);
    const b = round(a, c3);
    const shape = node.params.shape;
    const count = shape.every((d): d is number => typeof d === "number")
      ? f64(shape.reduce((p, d) => p * d, 1))
      : emit.op("Cast", [emit.op("ReduceProd", [emit.shape(shape)], { keepdims: 0 })], { to: ONNX_DTYPE.f64 });
    const counters = emit.op("Range", [f64(0), count, f64(1)]);
    let x = mod(emit.op("Add", [counters, a]));
    x = round(round(round(x, b), a), c3);
    const values = emit.op("Div", [emit.op("Mod", [x, f64(RANDOM_RESOLUTION)], { fmod: 1 }), f64(RANDOM_RESOLUTION)]);
    const shaped = emit.op("Reshape", [values, emit.shape(shape)], { allowzero: 1 });
    return node.dtype === "f64" ? shaped : emit.op("Cast", [shaped], { to: ONNX_DTYPE[node.dtype] });
  },
};
