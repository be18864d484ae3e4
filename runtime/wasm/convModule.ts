/**
 * Convolution helpers of the generated GEMM module: im2col and its adjoint, col2im_add,
 * over f32 NCHW planes in the wasm memory.
 *
 * Both take (planes, channels, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols) with
 * byte addresses for planes and cols. `im2col` writes cols [channels·kh·kw, oh·ow]: row
 * (c, i, j) holds tap (i, j) of channel c at every output position, 0 in the padding
 * (the layout of `runtime/kernels/conv.ts`, which this mirrors). `col2im_add` adds every
 * element of cols back onto the planes position it was read from. Guarantees: only
 * in-bounds input positions are read or written; stride-1 rows move four lanes at a time
 * (plain loads and stores: rows are short, and a `memory.copy` or `memory.fill` call per
 * row cost more than the row).
 */
import { Code, Locals, ValType, type FunctionDef } from "./encoder.js";
import { forLoop } from "./loops.js";

const { i32 } = ValType;
const PARAMS = ["planes", "channels", "h", "w", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "oh", "ow", "cols"] as const;

interface Walk {
  readonly c: Code;
  readonly p: Record<(typeof PARAMS)[number], number>;
  /** Per row: the output columns [x0, x1) whose tap lies inside the input, `off` = j·dw - pl. */
  readonly v: Record<"ch" | "i" | "j" | "oy" | "off" | "x0" | "x1" | "iy" | "plane" | "row" | "at" | "src" | "n" | "ox" | "lim", number>;
}

/**
 * Walks every (channel, tap, output row) of the window, with `at` = the cols row segment's
 * address and, when the input row iy is inside, `src` = address of input column `off`
 * in row iy; calls `inside` or `outside` for the segment.
 */
const walk = (w: Walk, inside: () => void, outside: () => void): void => {
  const { c, p, v } = w;
  c.get(p.cols).set(v.row);
  forLoop(c, v.ch, (c) => c.i32(0), p.channels, 1, (c) => {
    c.get(p.planes).get(v.ch).get(p.h).op("i32Mul").get(p.w).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(v.plane);
    forLoop(c, v.i, (c) => c.i32(0), p.kh, 1, (c) => {
      forLoop(c, v.j, (c) => c.i32(0), p.kw, 1, (c) => {
        c.get(v.j).get(p.dw).op("i32Mul").get(p.pl).op("i32Sub").set(v.off);
        // x0 = off ≥ 0 ? 0 : min(ow, ceil(-off / sw))
        c.i32(0).set(v.x0);
        c.get(v.off).i32(0).op("i32LtS").if();
        c.i32(0).get(v.off).op("i32Sub").get(p.sw).op("i32Add").i32(1).op("i32Sub").get(p.sw).op("i32DivU").set(v.x0);
        c.get(v.x0).get(p.ow).get(v.x0).get(p.ow).op("i32LtU").op("select").set(v.x0);
        c.end();
        // x1 = lim < 0 ? 0 : min(ow, lim / sw + 1), lim = w - 1 - off; then at least x0
        c.get(p.w).i32(1).op("i32Sub").get(v.off).op("i32Sub").set(v.lim);
        c.get(v.lim).get(p.sw).op("i32DivU").i32(1).op("i32Add").set(v.x1);
        c.get(v.x1).get(p.ow).get(v.x1).get(p.ow).op("i32LtU").op("select").set(v.x1);
        c.get(v.lim).i32(0).op("i32LtS").if().i32(0).set(v.x1).end();
        c.get(v.x1).get(v.x0).get(v.x1).get(v.x0).op("i32GtU").op("select").set(v.x1);
        forLoop(c, v.oy, (c) => c.i32(0), p.oh, 1, (c) => {
          c.get(v.row).get(v.oy).get(p.ow).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(v.at);
          c.get(v.oy).get(p.sh).op("i32Mul").get(p.pt).op("i32Sub").get(v.i).get(p.dh).op("i32Mul").op("i32Add").tee(v.iy);
          c.get(p.h).op("i32GeU").if();
          outside();
          c.else();
          c.get(v.plane).get(v.iy).get(p.w).op("i32Mul").get(v.off).op("i32Add").i32(4).op("i32Mul").op("i32Add").set(v.src);
          inside();
          c.end();
        });
        c.get(v.row).get(p.oh).get(p.ow).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(v.row);
      });
    });
  });
};

const setup = (): { L: Locals; w: Walk } => {
  const L = new Locals(PARAMS.map(() => i32));
  const p = Object.fromEntries(PARAMS.map((name, k) => [name, k])) as Walk["p"];
  const v = L.named(i32, ["ch", "i", "j", "oy", "off", "x0", "x1", "iy", "plane", "row", "at", "src", "n", "ox", "lim"]);
  return { L, w: { c: new Code(), p, v } };
};

/** im2col(planes, channels, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols). */
export const im2colFunction = (): FunctionDef => {
  const { L, w } = setup();
  const { c, p, v } = w;
  /** Zeros cols[at + 4·from, at + 4·to): four lanes at a time, then one by one (rows are short: calls to memory.fill cost more). */
  const zeros = (from: (c: Code) => void, to: number): void => {
    c.get(v.at);
    from(c);
    c.i32(4).op("i32Mul").op("i32Add").set(v.n);
    c.get(v.at).get(to).i32(4).op("i32Mul").op("i32Add").set(v.lim);
    c.block().loop().get(v.n).i32(16).op("i32Add").get(v.lim).op("i32GtU").brIf(1);
    c.get(v.n).i32x4(0).simdMem("v128Store");
    c.get(v.n).i32(16).op("i32Add").set(v.n).br(0).end().end();
    c.block().loop().get(v.n).get(v.lim).op("i32GeU").brIf(1);
    c.get(v.n).f32(0).mem("f32Store");
    c.get(v.n).i32(4).op("i32Add").set(v.n).br(0).end().end();
  };
  walk(
    w,
    () => {
      zeros((c) => void c.i32(0), v.x0);
      c.get(p.sw).i32(1).op("i32Eq").if();
      // Contiguous: `n` counts the elements left, `src` and `ox` (a byte address here) advance together.
      c.get(v.src).get(v.x0).i32(4).op("i32Mul").op("i32Add").set(v.iy);
      c.get(v.at).get(v.x0).i32(4).op("i32Mul").op("i32Add").set(v.ox);
      c.get(v.x1).get(v.x0).op("i32Sub").set(v.n);
      c.block().loop().get(v.n).i32(4).op("i32LtU").brIf(1);
      c.get(v.ox).get(v.iy).simdMem("v128Load").simdMem("v128Store");
      c.get(v.iy).i32(16).op("i32Add").set(v.iy).get(v.ox).i32(16).op("i32Add").set(v.ox).get(v.n).i32(4).op("i32Sub").set(v.n).br(0).end().end();
      c.block().loop().get(v.n).op("i32Eqz").brIf(1);
      c.get(v.ox).get(v.iy).mem("f32Load").mem("f32Store");
      c.get(v.iy).i32(4).op("i32Add").set(v.iy).get(v.ox).i32(4).op("i32Add").set(v.ox).get(v.n).i32(1).op("i32Sub").set(v.n).br(0).end().end();
      c.else();
      forLoop(c, v.ox, (c) => c.get(v.x0), v.x1, 1, (c) => {
        c.get(v.at).get(v.ox).i32(4).op("i32Mul").op("i32Add");
        c.get(v.src).get(v.ox).get(p.sw).op("i32Mul").i32(4).op("i32Mul").op("i32Add").mem("f32Load");
        c.mem("f32Store");
      });
      c.end();
      zeros((c) => void c.get(v.x1), p.ow);
    },
    () => zeros((c) => void c.i32(0), p.ow),
  );
  c.end();
  return { exportName: "im2col", params: L.params, results: [], locals: L.locals, body: c };
};

/** col2im_add(planes, channels, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols): planes += the adjoint of im2col(cols). */
export const col2imAddFunction = (): FunctionDef => {
  const { L, w } = setup();
  const { c, p, v } = w;
  const addAt = (dst: (c: Code) => void, from: (c: Code) => void): void => {
    dst(c);
    dst(c);
    c.mem("f32Load");
    from(c);
    c.mem("f32Load").op("f32Add").mem("f32Store");
  };
  walk(
    w,
    () => {
      c.get(p.sw).i32(1).op("i32Eq").if();
      // Contiguous: four lanes at a time, then the rest one by one. `src` walks the planes, `at` the cols row.
      c.get(v.src).get(v.x0).i32(4).op("i32Mul").op("i32Add").set(v.src);
      c.get(v.at).get(v.x0).i32(4).op("i32Mul").op("i32Add").set(v.at);
      c.get(v.x1).get(v.x0).op("i32Sub").set(v.n);
      c.block().loop().get(v.n).i32(4).op("i32LtU").brIf(1);
      c.get(v.src).get(v.src).simdMem("v128Load").get(v.at).simdMem("v128Load").simd("f32x4Add").simdMem("v128Store");
      c.get(v.src).i32(16).op("i32Add").set(v.src).get(v.at).i32(16).op("i32Add").set(v.at).get(v.n).i32(4).op("i32Sub").set(v.n).br(0).end().end();
      c.block().loop().get(v.n).op("i32Eqz").brIf(1);
      addAt((c) => void c.get(v.src), (c) => void c.get(v.at));
      c.get(v.src).i32(4).op("i32Add").set(v.src).get(v.at).i32(4).op("i32Add").set(v.at).get(v.n).i32(1).op("i32Sub").set(v.n).br(0).end().end();
      c.else();
      forLoop(c, v.ox, (c) => c.get(v.x0), v.x1, 1, () => {
        addAt(
          (c) => void c.get(v.src).get(v.ox).get(p.sw).op("i32Mul").i32(4).op("i32Mul").op("i32Add"),
          (c) => void c.get(v.at).get(v.ox).i32(4).op("i32Mul").op("i32Add"),
        );
      });
      c.end();
    },
    () => undefined,
  );
  c.end();
  return { exportName: "col2im_add", params: L.params, results: [], locals: L.locals, body: c };
};
