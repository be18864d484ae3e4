/**
 * f32 conv2d and its two backprop ops on the generated GEMM: im2col in WebAssembly, then
 * GEMMs over the images and channel groups, mirroring `runtime/kernels/conv.ts` (conv2d
 * and the input gradient run a chunk of images as one batched product, so even small
 * per-image products spread over the threads; an ungrouped filter gradient adds a fixed
 * number of partial sums over image ranges that run side by side, a grouped one
 * accumulates image by image, each product threaded like any other):
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
import { POOLED_EXPORTS, type WasmContext } from "./context.js";
import { planWasmMatmul, type WasmMatmul } from "./matmul.js";
import { evenCuts } from "../threads/pool.js";

/** Largest cols buffer of one batched conv product (a chunk of images and groups). */
export const COLS_CHUNK_BYTES = 4 << 20;

/** Partial sums of an ungrouped filter gradient (fixed, so results do not depend on the thread count). */
export const FILTER_PARTS = 2;

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
  const fns = ctx.exports;
  /**
   * `fn` over `count` consecutive (image, group) pairs at once: their planes and cols
   * blocks are consecutive, so it is one call with count·cg channels, or one call per
   * thread over a share of the pairs (different pairs touch disjoint planes and cols).
   */
  const pool = batch * groups > 1 ? ctx.pool(threads) : undefined;
  const windows = (name: "im2col" | "col2im_add", planes: number, cols: number, count: number): void => {
    const fn = fns[name] as WindowFunction;
    const parts = pool === undefined ? 1 : Math.min(threads, pool.threads, count);
    if (parts < 2) {
      fn(planes, count * cg, h, w, kh, kw, win.sh, win.sw, win.dh, win.dw, win.pt, win.pl, oh, ow, cols);
      return;
    }
    const index = POOLED_EXPORTS.indexOf(name);
    const cuts = evenCuts(count, parts);
    const work = cuts.slice(0, -1).map((from, t) => [index, planes + 4 * from * cg * h * w, (cuts[t + 1]! - from) * cg, h, w, kh, kw, win.sh, win.sw, win.dh, win.dw, win.pt, win.pl, oh, ow, cols + 4 * from * k * l]);
    pool!.run(work, (a) => fn(a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!, a[13]!, a[14]!, a[15]!));
  };
  const xPlanes = (x: number, b: number, g: number): number => x + 4 * (b * groups + g) * cg * h * w;
  const yPlanes = (y: number, b: number, g: number): number => y + 4 * (b * groups + g) * og * l;
  const empty = batch * c * h * w === 0 || o * l === 0 || k === 0;
  // conv2d and conv2dBackpropInput run a chunk of (image, group) pairs as one batched
  // product over a cols buffer of at most COLS_CHUNK_BYTES, so small per-image products
  // still spread over the threads (whole pairs per thread).
  const pairs = batch * groups;
  // The filter gradient of a plain (ungrouped) convolution sums FILTER_PARTS partial sums over images, see below.
  const filterParts = op === "conv2dBackpropFilter" && groups === 1 && !pointwise && batch >= FILTER_PARTS;
  const chunk = (op === "conv2dBackpropFilter" && !filterParts) || pointwise ? 1 : Math.max(1, Math.min(pairs, Math.floor(COLS_CHUNK_BYTES / Math.max(4 * k * l, 1))));
  const colsAt = pointwise || k * l === 0 ? 0 : ctx.heap.allocate(4 * k * l * chunk);
  const chunkPlans = new Map<number, WasmMatmul>();
  /** The batched product for `count` pairs starting at an image-and-group index congruent to `first` (mod groups). */
  const batched = (count: number, first: number, planOf: (offsets: { a: Int32Array; b: Int32Array }) => MatmulPlan): WasmMatmul => {
    const key = count * groups + (first % groups);
    let mm = chunkPlans.get(key);
    if (mm === undefined) {
      const a = new Int32Array(count);
      const b = new Int32Array(count);
      for (let t = 0; t < count; t++) [a[t], b[t]] = pairOffsets((first + t) % groups, t);
      mm = planWasmMatmul(ctx, planOf({ a, b }), threads);
      chunkPlans.set(key, mm);
    }
    return mm;
  };
  /** A's and B's element offsets for pair t of a chunk, group g. */
  let pairOffsets: (g: number, t: number) => [number, number] = () => [0, 0];
  let run: (inputs: readonly number[], out: number) => void;
  let mm: { free(): void } = { free: () => undefined };
  if (op === "conv2d" && pointwise) {
    const gemm = planWasmMatmul(ctx, product(og, l, k, k, 1, l, 1), threads);
    mm = gemm;
    run = ([x, wt], y) => {
      for (let b = 0; b < batch; b++) for (let g = 0; g < groups; g++) gemm.run(wt! + 4 * g * og * k, xPlanes(x!, b, g), yPlanes(y, b, g));
    };
  } else if (op === "conv2d") {
    // y_t = W_g · cols_t for the chunk's pairs t (C of pair t at t·og·l: the NCHW output).
    pairOffsets = (g, t) => [g * og * k, t * k * l];
    const planOf = ({ a, b }: { a: Int32Array; b: Int32Array }): MatmulPlan => ({ m: og, n: l, k, aRow: k, aCol: 1, bRow: l, bCol: 1, aOffsets: a, bOffsets: b, batches: a.length, flops: 2 * og * l * k * a.length });
    run = ([x, wt], y) => {
      for (let first = 0; first < pairs; first += chunk) {
        const count = Math.min(chunk, pairs - first);
        windows("im2col", x! + 4 * first * cg * h * w, colsAt, count);
        batched(count, first, planOf).run(wt!, colsAt, y + 4 * first * og * l);
      }
    };
  } else if (op === "conv2dBackpropInput") {
    // cols_t = W_gᵀ · dy_t: A(i, p) = w[g·og·k + p·k + i]; then col2im of each pair.
    pairOffsets = (g, t) => [g * og * k, t * og * l];
    const planOf = ({ a, b }: { a: Int32Array; b: Int32Array }): MatmulPlan => ({ m: k, n: l, k: og, aRow: 1, aCol: k, bRow: l, bCol: 1, aOffsets: a, bOffsets: b, batches: a.length, flops: 2 * k * l * og * a.length });
    run = ([dy, wt], dx) => {
      new Uint8Array(ctx.heap.buffer, dx, 4 * batch * c * h * w).fill(0);
      for (let first = 0; first < pairs; first += chunk) {
        const count = Math.min(chunk, pairs - first);
        batched(count, first, planOf).run(wt!, dy! + 4 * first * og * l, colsAt);
        windows("col2im_add", dx + 4 * first * cg * h * w, colsAt, count);
      }
    };
  } else if (filterParts) {
    // dW = Σ_b dy_b · cols_bᵀ. Each chunk's images are cut into FILTER_PARTS contiguous
    // ranges; range p adds into partial sum p (one product per range, batches adding into
    // one C), the ranges run side by side on the threads, and dW is the sum of the partials
    // at the end. The number of partials does not depend on the thread count, so neither
    // does the result.
    const accAt = ctx.heap.allocate(4 * FILTER_PARTS * o * k);
    const partPlans = new Map<number, WasmMatmul>();
    const rangePlan = (slot: number, count: number): WasmMatmul => {
      const key = slot * (chunk + 1) + count;
      let plan = partPlans.get(key);
      if (plan === undefined) {
        const offsets = (stride: number): Int32Array => Int32Array.from({ length: count }, (_, t) => t * stride);
        const mmPlan: MatmulPlan = { m: o, n: k, k: l, aRow: l, aCol: 1, bRow: 1, bCol: l, aOffsets: offsets(o * l), bOffsets: offsets(k * l), batches: count, flops: 2 * o * k * l * count };
        plan = planWasmMatmul(ctx, mmPlan, 1, { accumulate: true, cBatch: 0 });
        partPlans.set(key, plan);
      }
      return plan;
    };
    mm = { free: () => [...partPlans.values()].forEach((plan) => plan.free()) };
    const sumPartials = fns.reduce_sum as (x: number, out: number, outer: number, reduced: number, inner: number, scale: number) => void;
    const gemm = ctx.gemm;
    const local = (a: readonly number[]): void => gemm(a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
    run = ([x, dy], dw) => {
      new Uint8Array(ctx.heap.buffer, accAt, 4 * FILTER_PARTS * o * k).fill(0);
      for (let first = 0; first < pairs; first += chunk) {
        const count = Math.min(chunk, pairs - first);
        windows("im2col", x! + 4 * first * cg * h * w, colsAt, count);
        const work: number[][] = [];
        const cuts = evenCuts(count, FILTER_PARTS);
        for (let slot = 0; slot < FILTER_PARTS; slot++) {
          const [from, to] = [cuts[slot]!, cuts[slot + 1]!];
          if (to > from) work.push(rangePlan(slot, to - from).part(dy! + 4 * (first + from) * o * l, colsAt + 4 * from * k * l, accAt + 4 * slot * o * k, work.length));
        }
        if (pool !== undefined && work.length <= pool.threads) pool.run(work, local);
        else work.forEach(local);
      }
      sumPartials(accAt, dw, 1, FILTER_PARTS, o * k, 1);
    };
    const release = mm;
    mm = { free: () => (release.free(), ctx.heap.free(accAt)) };
  } else {
    // dW_g += dy_g · colsᵀ: B(q, j) = cols[j·l + q].
    const gemm = planWasmMatmul(ctx, product(og, k, l, l, 1, 1, l), threads, { accumulate: true });
    mm = gemm;
    run = ([x, dy], dw) => {
      new Uint8Array(ctx.heap.buffer, dw, 4 * o * k).fill(0);
      for (let b = 0; b < batch; b++)
        for (let g = 0; g < groups; g++) {
          const cols = pointwise ? xPlanes(x!, b, g) : colsAt;
          if (!pointwise) windows("im2col", xPlanes(x!, b, g), cols, 1);
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
      for (const plan of chunkPlans.values()) plan.free();
      if (colsAt !== 0) ctx.heap.free(colsAt);
    },
  };
};
