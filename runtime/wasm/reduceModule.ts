/**
 * Reduction functions of the generated module, f32, four lanes at a time:
 * - `reduce_sum(x, out, outer, reduced, inner, scale)`: x viewed as [outer, reduced,
 *   inner]; out[o, i] = scale · Σ_r x[o, r, i] (sum: scale 1; mean: 1/reduced);
 * - `softmax_rows(x, out, rows, n, log)`: along the last axis of [rows, n], the softmax
 *   (log = 0) or logSoftmax (log = 1), with the row maximum subtracted first;
 * - `reduce_sum_bits(x, out, outer, reduced, inner, scaleBits)`: `reduce_sum` with the
 *   scale passed as the i32 bit pattern of the f32 (worker threads pass i32 words only).
 *
 * Takes byte addresses in the module's memory. Guarantees: every output element is
 * written; sums accumulate in f32 (one vector of partial sums per four outputs, or four
 * interleaved partial sums along a contiguous reduced axis), in blocks of 256 per lane
 * whose sums are then added, so the rounding error grows with the number of blocks; NaN propagates through max,
 * exp and log as in the reference kernels; exp and log are `vmath.ts`'s (2 ulp).
 */
import { Code, Locals, ValType, type FunctionDef } from "./encoder.js";
import { forLoop } from "./loops.js";
import { VectorBuilder, vexp, vlog } from "./vmath.js";

const { i32, f32, v128 } = ValType;

/** Pushes the sum (or max) of the four lanes of `v` as an f32. */
const horizontal = (c: Code, v: number, op: "f32Add" | "f32Max"): void => {
  c.get(v).lane("f32x4ExtractLane", 0).get(v).lane("f32x4ExtractLane", 1).op(op);
  c.get(v).lane("f32x4ExtractLane", 2).get(v).lane("f32x4ExtractLane", 3).op(op).op(op);
};

/** Elements (per lane) summed into one partial sum before it is added to the total. */
const BLOCK = 256;

/** while (p < end) { body; p += step } (step 0: the body advances p itself). */
const whileBelow = (c: Code, p: number, end: number, step: number, body: () => void): void => {
  c.block().loop().get(p).get(end).op("i32GeU").brIf(1);
  body();
  if (step !== 0) c.get(p).i32(step).op("i32Add").set(p);
  c.br(0).end().end();
};

export const reduceSumFunction = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, f32]);
  const [x, out, outer, reduced, inner, scale] = [0, 1, 2, 3, 4, 5];
  const { o, i, r, q, src, end, blockEnd, base, stride, dst } = L.named(i32, ["o", "i", "r", "q", "src", "end", "blockEnd", "base", "stride", "dst"]);
  const [acc, total] = [L.add(v128), L.add(v128)];
  const s = L.add(f32);
  const c = new Code();
  c.get(inner).i32(4).op("i32Mul").set(stride);
  forLoop(c, o, (c) => c.i32(0), outer, 1, (c) => {
    c.get(x).get(o).get(reduced).op("i32Mul").get(stride).op("i32Mul").op("i32Add").set(base);
    c.get(out).get(o).get(stride).op("i32Mul").op("i32Add").set(dst);
    c.get(inner).i32(1).op("i32Eq").if();
    // Contiguous reduced axis: four partial sums per block of BLOCK vectors, blocks added
    // into `total` (rounding error grows with BLOCK + reduced / BLOCK, not with reduced).
    c.get(base).set(src);
    c.get(base).get(reduced).i32(-4).op("i32And").i32(4).op("i32Mul").op("i32Add").set(end);
    c.f32x4(0).set(total);
    whileBelow(c, src, end, 0, () => {
      c.get(src).i32(16 * BLOCK).op("i32Add").get(end).get(src).i32(16 * BLOCK).op("i32Add").get(end).op("i32LtU").op("select").set(blockEnd);
      c.f32x4(0).set(acc);
      whileBelow(c, src, blockEnd, 16, () => void c.get(acc).get(src).simdMem("v128Load").simd("f32x4Add").set(acc));
      c.get(total).get(acc).simd("f32x4Add").set(total);
    });
    horizontal(c, total, "f32Add");
    c.set(s);
    c.get(base).get(reduced).i32(4).op("i32Mul").op("i32Add").set(end);
    whileBelow(c, src, end, 4, () => void c.get(s).get(src).mem("f32Load").op("f32Add").set(s));
    c.get(dst).get(s).get(scale).op("f32Mul").mem("f32Store");
    c.else();
    // Four outputs at a time, walking the reduced axis with stride `inner`.
    c.i32(0).set(i);
    c.block().loop().get(i).i32(4).op("i32Add").get(inner).op("i32GtU").brIf(1);
    c.f32x4(0).set(total).get(base).get(i).i32(4).op("i32Mul").op("i32Add").set(src);
    forLoop(c, r, (c) => c.i32(0), reduced, BLOCK, (c) => {
      // Blocks of BLOCK rows, as above.
      c.get(r).i32(BLOCK).op("i32Add").get(reduced).get(r).i32(BLOCK).op("i32Add").get(reduced).op("i32LtU").op("select").set(blockEnd);
      c.f32x4(0).set(acc);
      forLoop(c, q, (c) => c.get(r), blockEnd, 1, (c) => {
        c.get(acc).get(src).simdMem("v128Load").simd("f32x4Add").set(acc).get(src).get(stride).op("i32Add").set(src);
      });
      c.get(total).get(acc).simd("f32x4Add").set(total);
    });
    c.get(dst).get(i).i32(4).op("i32Mul").op("i32Add").get(total).get(scale).simd("f32x4Splat").simd("f32x4Mul").simdMem("v128Store");
    c.get(i).i32(4).op("i32Add").set(i).br(0).end().end();
    c.block().loop().get(i).get(inner).op("i32GeU").brIf(1);
    c.f32(0).set(s).get(base).get(i).i32(4).op("i32Mul").op("i32Add").set(src);
    forLoop(c, r, (c) => c.i32(0), reduced, 1, (c) => {
      c.get(s).get(src).mem("f32Load").op("f32Add").set(s).get(src).get(stride).op("i32Add").set(src);
    });
    c.get(dst).get(i).i32(4).op("i32Mul").op("i32Add").get(s).get(scale).op("f32Mul").mem("f32Store");
    c.get(i).i32(1).op("i32Add").set(i).br(0).end().end();
    c.end();
  });
  c.end();
  return { exportName: "reduce_sum", params: L.params, results: [], locals: L.locals, body: c };
};

export const softmaxRowsFunction = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32]);
  const [x, out, rows, n, log] = [0, 1, 2, 3, 4];
  const { row, xs, os, p, q, end, rowEnd } = L.named(i32, ["row", "xs", "os", "p", "q", "end", "rowEnd"]);
  const [m4, sum4, mv, value] = [L.add(v128), L.add(v128), L.add(v128), L.add(v128)];
  const [m, sum] = [L.add(f32), L.add(f32)];
  const c = new Code();
  const v = new VectorBuilder(c, L);
  /** e = exp(value - max): stores e (softmax) at q and adds it to the lane sums. */
  const expStep = (width: "vector" | "tail"): void => {
    const e = vexp(v, v.sub(value, mv));
    c.get(log).op("i32Eqz").if().get(q);
    if (width === "vector") c.get(e).simdMem("v128Store");
    else c.get(e).lane("f32x4ExtractLane", 0).mem("f32Store");
    c.end();
    if (width === "vector") c.get(sum4).get(e).simd("f32x4Add").set(sum4);
    else c.get(sum).get(e).lane("f32x4ExtractLane", 0).op("f32Add").set(sum);
  };
  forLoop(c, row, (c) => c.i32(0), rows, 1, (c) => {
    c.get(x).get(row).get(n).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(xs);
    c.get(out).get(row).get(n).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(os);
    c.get(xs).get(n).i32(-4).op("i32And").i32(4).op("i32Mul").op("i32Add").set(end);
    c.get(xs).get(n).i32(4).op("i32Mul").op("i32Add").set(rowEnd);
    // Row maximum (NaN if any element is NaN).
    c.f32x4(-Infinity).set(m4).get(xs).set(p);
    whileBelow(c, p, end, 16, () => void c.get(m4).get(p).simdMem("v128Load").simd("f32x4Max").set(m4));
    horizontal(c, m4, "f32Max");
    c.set(m);
    whileBelow(c, p, rowEnd, 4, () => void c.get(m).get(p).mem("f32Load").op("f32Max").set(m));
    c.get(m).simd("f32x4Splat").set(mv);
    // exp(x - max), its sum.
    c.f32x4(0).set(sum4).f32(0).set(sum).get(xs).set(p).get(os).set(q);
    c.block().loop().get(p).get(end).op("i32GeU").brIf(1);
    c.get(p).simdMem("v128Load").set(value);
    expStep("vector");
    c.get(p).i32(16).op("i32Add").set(p).get(q).i32(16).op("i32Add").set(q).br(0).end().end();
    c.block().loop().get(p).get(rowEnd).op("i32GeU").brIf(1);
    c.get(p).simdMem("v128Load32Splat").set(value);
    expStep("tail");
    c.get(p).i32(4).op("i32Add").set(p).get(q).i32(4).op("i32Add").set(q).br(0).end().end();
    horizontal(c, sum4, "f32Add");
    c.get(sum).op("f32Add").set(sum);
    c.get(log).if();
    // logSoftmax: (x - max) - log(sum).
    c.get(sum).simd("f32x4Splat").set(value);
    const logSum = vlog(v, value);
    c.get(xs).set(p).get(os).set(q);
    whileBelow(c, p, rowEnd, 4, () => {
      c.get(q).get(p).mem("f32Load").get(m).op("f32Sub").get(logSum).lane("f32x4ExtractLane", 0).op("f32Sub").mem("f32Store");
      c.get(q).i32(4).op("i32Add").set(q);
    });
    c.else();
    // softmax: e / sum.
    c.get(os).set(q);
    c.get(os).get(n).i32(4).op("i32Mul").op("i32Add").set(rowEnd);
    whileBelow(c, q, rowEnd, 4, () => void c.get(q).get(q).mem("f32Load").get(sum).op("f32Div").mem("f32Store"));
    c.end();
  });
  c.end();
  return { exportName: "softmax_rows", params: L.params, results: [], locals: L.locals, body: c };
};

/**
 * `reduce_sum` taking its scale as the bits of an f32 (`reduceSum` is that function's index in the module).
 * @example functions.push(reduceSumBitsFunction(7));
 */
export const reduceSumBitsFunction = (reduceSum: number): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, i32]);
  const c = new Code();
  for (let k = 0; k < 5; k++) c.get(k);
  c.get(5).op("f32ReinterpretI32").call(reduceSum).end();
  return { exportName: "reduce_sum_bits", params: L.params, results: [], locals: L.locals, body: c };
};
