/**
 * f32 conv2d and its two backprop ops on the generated GEMM: im2col in WebAssembly, then
 * one GEMM per image and channel group (threaded like any product), mirroring
 * `runtime/kernels/conv.ts`:
 * - conv2d:               y_g = W_g · cols
 * - conv2dBackpropInput:  dx_g = col2im(W_gᵀ · dy_g)
 * - conv2dBackpropFilter: dW_g = Σ_images dy_g · colsᵀ (accumulated in place by the GEMM)
 *
 * Takes the op, the concrete input and output shapes and the params (as the shape rules
 * checked them) and a context. Guarantees: every output element is written; only
 * in-bounds input positions are read; a 1x1 stride-1 unpadded kernel multiplies the
 * input planes directly (no cols); transposed operands are read in place by the packing
 * routines. Results match the reference kernels within float32 tolerance (they accumulate
 * in double).
 */
import type { Conv2dParams } from "../../src/ops.js";
import { convWindow, type Window2d } from "../../src/graph/window.js";
import type { MatmulPlan } from "../matmul/batched.js";
import type { WasmContext } from "./context.js";
import { planWasmMatmul } from "./matmul.js";

export type ConvOp = "conv2d" | "conv2dBackpropInput" | "conv2dBackpropFilter";

/** Ops this file runs. */
export const WASM_CONV_OPS: ReadonlySet<string> = new Set<ConvOp>(["conv2d", "conv2dBackpropInput", "conv2dBackpropFilter"]);

/** A planned convolution: `run(inputs, out)` with byte addresses in the context's heap. */
export interface WasmConv {
  run(inputs: readonly number[], out: number): void;
  free(): void;
}

type WindowFunction = (planes: number, channels: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number, oh: number, ow: number, cols: number) => void;

/** A single product's plan (no batch dims) for `planWasmMatmul`. */
const product = (m: number, n: number, k: number, aRow: number, aCol: number, bRow: number, bCol: number): MatmulPlan => ({
  m, n, k, aRow, aCol, bRow, bCol, aOffsets: Int32Array.of(0), bOffsets: Int32Array.of(0), batches: 1, flops: 2 * m * n * k,
});

const isPointwise = (win: Window2d): boolean => win.kh === 1 && win.kw === 1 && win.sh === 1 && win.sw === 1 && win.pt + win.pb + win.pl + win.pr === 0;

/**
 * Plans one convolution op for concrete shapes (inputs in the op's order, NCHW / OIHW).
 * @example planWasmConv(ctx, "conv2d", [[8, 3, 32, 32], [16, 3, 3, 3]], [8, 16, 32, 32], params, 2).run([xAt, wAt], yAt);
 */
export const planWasmConv = (
  ctx: WasmContext,
  op: ConvOp,
  inputShapes: readonly (readonly number[])[],
  outShape: readonly number[],
  params: Conv2dParams,
  threads: number,
): WasmConv => {
  // Image, weight and output-gradient shapes, whichever op this is.
  const [xShape, wShape, yShape] =
    op === "conv2d" ? [inputShapes[0]!, inputShapes[1]!, outShape] : op === "conv2dBackpropInput" ? [outShape, inputShapes[1]!, inputShapes[0]!] : [inputShapes[0]!, outShape, inputShapes[1]!];
  const [batch, c, h, w] = xShape as [number, number, number, number];
  const [o, , kh, kw] = wShape as [number, number, number, number];
  const [, , oh, ow] = yShape as [number, number, number, number];
  const groups = params.groups;
  const [cg, og] = [c / groups, o / groups];
  const win = convWindow(params, kh, kw);
  const k = cg * kh * kw;
  const l = oh * ow;
  const pointwise = isPointwise(win) && op !== "conv2dBackpropInput";
  const colsAt = pointwise || k * l === 0 ? 0 : ctx.heap.allocate(4 * k * l);
  const fns = ctx.exports;
  const im2col = fns.im2col as WindowFunction;
  const col2imAdd = fns.col2im_add as WindowFunction;
  const window = (fn: WindowFunction, planes: number, cols: number): void => fn(planes, cg, h, w, kh, kw, win.sh, win.sw, win.dh, win.dw, win.pt, win.pl, oh, ow, cols);
  const xPlanes = (x: number, b: number, g: number): number => x + 4 * (b * groups + g) * cg * h * w;
  const yPlanes = (y: number, b: number, g: number): number => y + 4 * (b * groups + g) * og * l;
  const empty = batch * c * h * w === 0 || o * l === 0 || k === 0;
  let run: (inputs: readonly number[], out: number) => void;
  let mm: { free(): void };
  if (op === "conv2d") {
    const gemm = planWasmMatmul(ctx, product(og, l, k, k, 1, l, 1), threads);
    mm = gemm;
    run = ([x, wt], y) => {
      for (let b = 0; b < batch; b++)
        for (let g = 0; g < groups; g++) {
          const cols = pointwise ? xPlanes(x!, b, g) : colsAt;
          if (!pointwise) window(im2col, xPlanes(x!, b, g), cols);
          gemm.run(wt! + 4 * g * og * k, cols, yPlanes(y, b, g));
        }
    };
  } else if (op === "conv2dBackpropInput") {
    // cols = W_gᵀ · dy_g: A(i, p) = w[g·og·k + p·k + i].
    const gemm = planWasmMatmul(ctx, product(k, l, og, 1, k, l, 1), threads);
    mm = gemm;
    run = ([dy, wt], dx) => {
      new Uint8Array(ctx.heap.buffer, dx, 4 * batch * c * h * w).fill(0);
      for (let b = 0; b < batch; b++)
        for (let g = 0; g < groups; g++) {
          gemm.run(wt! + 4 * g * og * k, yPlanes(dy!, b, g), colsAt);
          window(col2imAdd, xPlanes(dx, b, g), colsAt);
        }
    };
  } else {
    // dW_g += dy_g · colsᵀ: B(q, j) = cols[j·l + q].
    const gemm = planWasmMatmul(ctx, product(og, k, l, l, 1, 1, l), threads, { accumulate: true });
    mm = gemm;
    run = ([x, dy], dw) => {
      new Uint8Array(ctx.heap.buffer, dw, 4 * o * k).fill(0);
      for (let b = 0; b < batch; b++)
        for (let g = 0; g < groups; g++) {
          const cols = pointwise ? xPlanes(x!, b, g) : colsAt;
          if (!pointwise) window(im2col, xPlanes(x!, b, g), cols);
          gemm.run(yPlanes(dy!, b, g), cols, dw + 4 * g * og * k);
        }
    };
  }
  return {
    run: (inputs, out) => {
      if (empty) {
        new Uint8Array(ctx.heap.buffer, out, 4 * outShape.reduce((a, d) => a * d, 1)).fill(0);
        return;
      }
      run(inputs, out);
    },
    free: () => {
      mm.free();
      if (colsAt !== 0) ctx.heap.free(colsAt);
    },
  };
};
