/**
 * The generated f32 GEMM module: packing routines, a 4x8 f32x4 register-tiled
 * micro-kernel inside a BLIS-style macro-kernel, and the block loops, all in WebAssembly.
 *
 * Takes the engine's features (fused multiply-add or not). Guarantees a module importing
 * `env.memory` (shared when `shared`) and exporting `gemm(desc, t0, t1, j0, j1, scratch)`,
 * which computes C = A·B (or C += A·B) for batches [t0, t1) and output columns [j0, j1) of
 * the job described at byte address `desc` (layout: `GemmDescriptor`), `gemm_chunks(desc,
 * scratch)`, the same job claimed chunk by chunk by several threads, the convolution
 * helpers `im2col` and `col2im_add` (`convModule.ts`), the reductions `reduce_sum`,
 * `reduce_sum_bits` and `softmax_rows` (`reduceModule.ts`) and the generator
 * `random_uniform` (`randomModule.ts`). Operands are read
 * through byte strides, so transposed A or B are packed straight from the caller's layout
 * and never materialized. Every element of the selected C columns is written (the first
 * K block stores, later blocks accumulate); k must be at least 1 (callers zero-fill for
 * k = 0). Blocking: B is packed KC x NR panels (NR = 8 columns, zero-padded), A MR x KC
 * panels (MR = 4 rows), K blocks of the descriptor's `kcBlock` rows (at most KC = 256; see
 * `balancedKc`), MC = 128, NC = 2048. The micro-kernel keeps 8 f32x4
 * accumulators and loads per k two vectors of B and four splats of A; the k loop is not
 * unrolled (V8 spills registers otherwise).
 */
import { Code, encodeModule, Locals, ValType, type FunctionDef } from "./encoder.js";
import { col2imAddFunction, im2colFunction } from "./convModule.js";
import { reduceSumBitsFunction, reduceSumFunction, softmaxRowsFunction } from "./reduceModule.js";
import { randomUniformFunction } from "./randomModule.js";
import { forLoop, minInto } from "./loops.js";

export const GEMM_MR = 4;
export const GEMM_NR = 8;
export const GEMM_KC = 256;
export const GEMM_MC = 128;
export const GEMM_NC = 2048;

/** Byte size of the per-thread packing buffers: A block, B block, and an edge tile. */
export const GEMM_PACK_A_BYTES = GEMM_MC * GEMM_KC * 4;
export const GEMM_PACK_B_BYTES = GEMM_KC * GEMM_NC * 4;
export const GEMM_TILE_BYTES = GEMM_MR * GEMM_NR * 4;

/** Field offsets (bytes) of a job descriptor in memory; all values are i32. Strides and offsets are in bytes. */
export const GemmDescriptor = {
  m: 0, n: 4, k: 8,
  a: 12, aRow: 16, aCol: 20,
  b: 24, bRow: 28, bCol: 32,
  c: 36, ldc: 40, cBatch: 44,
  /** Address of the i32 byte offsets of each batch's A and B matrices. */
  aOffsets: 48, bOffsets: 52,
  /** For `gemm_chunks`: 0 = one chunk per batch; 1 = row chunks of a single product over a shared packed B. */
  mode: 56, batches: 60,
  /** Mode 1: row chunks, pack tasks and columns per pack task (a multiple of NR), packed B's address. */
  chunks: 64, packTasks: 68, packCols: 72, packedB: 76,
  /** Claim counter and finished pack tasks; zeroed by the caller before each dispatch. */
  claimed: 80, packed: 84,
  /** 1: C += A·B (the first K block adds to C instead of storing). */
  accumulateC: 88,
  /** Mode 1: address of `chunks + 1` i32 row starts (chunk c is rows [starts[c], starts[c + 1]), at most MC rows). */
  rowStarts: 92,
  /** Rows of K per block, at most KC (0 means KC): `balancedKc(k)` splits K into equal blocks. */
  kcBlock: 96,
  bytes: 128,
} as const;

const { i32, v128 } = ValType;

/**
 * K rows per block: K split into the fewest blocks of at most KC, all the same size (but the
 * last), so no block is a sliver that costs a whole pass over C (784 = 4 × 196, not 3 × 256 + 16).
 * @example balancedKc(784) // 196
 */
export const balancedKc = (k: number): number => (k <= GEMM_KC ? Math.max(k, 1) : Math.ceil(k / Math.ceil(k / GEMM_KC)));

/** Loads the descriptor's K block size into `into` (KC where it is 0). */
const loadKcBlock = (c: Code, desc: number, into: number): void => {
  c.get(desc).mem("i32Load", GemmDescriptor.kcBlock).set(into);
  c.get(into).op("i32Eqz").if().i32(GEMM_KC).set(into).end();
};

/** Pushes `lane < limit ? f32[base + lane·stride] : 0`, reading `base` instead when out of range (always a valid address). */
const guardedLoad = (c: Code, base: number, stride: number, lane: number, limit: number): void => {
  c.get(base).i32(lane).get(stride).op("i32Mul").op("i32Add").get(base).i32(lane).get(limit).op("i32LtU").op("select");
  c.mem("f32Load").f32(0).i32(lane).get(limit).op("i32LtU").op("select");
};

/** pack_b(src, rowStride, colStride, kc, nc, dst): panels of NR columns by kc rows, zero-padded. */
const packB = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, i32]);
  const [src, rs, cs, kc, nc, dst] = [0, 1, 2, 3, 4, 5];
  const [j, cols, s, d, p] = [L.add(i32), L.add(i32), L.add(i32), L.add(i32), L.add(i32)];
  const c = new Code();
  const advance = (c: Code, bytes: number): void => void c.get(s).get(rs).op("i32Add").set(s).get(d).i32(bytes).op("i32Add").set(d);
  forLoop(c, j, (c) => c.i32(0), nc, GEMM_NR, (c) => {
    minInto(c, cols, (c) => c.i32(GEMM_NR), (c) => c.get(nc).get(j).op("i32Sub"));
    c.get(src).get(j).get(cs).op("i32Mul").op("i32Add").set(s);
    c.get(dst).get(j).get(kc).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(d);
    // Contiguous rows (B not transposed) and a full panel: two vector copies per k.
    c.get(cols).i32(GEMM_NR).op("i32Eq").get(cs).i32(4).op("i32Eq").op("i32And").if();
    forLoop(c, p, (c) => c.i32(0), kc, 1, (c) => {
      c.get(d).get(s).simdMem("v128Load").simdMem("v128Store");
      c.get(d).get(s).simdMem("v128Load", 16).simdMem("v128Store", 16);
      advance(c, GEMM_NR * 4);
    });
    c.else();
    forLoop(c, p, (c) => c.i32(0), kc, 1, (c) => {
      for (let lane = 0; lane < GEMM_NR; lane++) {
        c.get(d);
        guardedLoad(c, s, cs, lane, cols);
        c.mem("f32Store", lane * 4);
      }
      advance(c, GEMM_NR * 4);
    });
    c.end();
  });
  c.end();
  return { params: L.params, results: [], locals: L.locals, body: c };
};

/** pack_a(src, rowStride, colStride, mc, kc, dst): panels of MR rows by kc columns, zero-padded. */
const packA = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, i32]);
  const [src, rs, cs, mc, kc, dst] = [0, 1, 2, 3, 4, 5];
  const [i, rows, s, d, p] = [L.add(i32), L.add(i32), L.add(i32), L.add(i32), L.add(i32)];
  const c = new Code();
  const advance = (c: Code): void => void c.get(s).get(cs).op("i32Add").set(s).get(d).i32(GEMM_MR * 4).op("i32Add").set(d);
  forLoop(c, i, (c) => c.i32(0), mc, GEMM_MR, (c) => {
    minInto(c, rows, (c) => c.i32(GEMM_MR), (c) => c.get(mc).get(i).op("i32Sub"));
    c.get(src).get(i).get(rs).op("i32Mul").op("i32Add").set(s);
    c.get(dst).get(i).get(kc).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(d);
    c.get(rows).i32(GEMM_MR).op("i32Eq").if();
    // Full panel: A transposed (rows contiguous) copies one vector per k; otherwise four loads.
    c.get(rs).i32(4).op("i32Eq").if();
    forLoop(c, p, (c) => c.i32(0), kc, 1, (c) => {
      c.get(d).get(s).simdMem("v128Load").simdMem("v128Store");
      advance(c);
    });
    c.else();
    forLoop(c, p, (c) => c.i32(0), kc, 1, (c) => {
      for (let lane = 0; lane < GEMM_MR; lane++) {
        c.get(d).get(s);
        if (lane > 0) c.get(rs).i32(lane).op("i32Mul").op("i32Add");
        c.mem("f32Load").mem("f32Store", lane * 4);
      }
      advance(c);
    });
    c.end();
    c.else();
    forLoop(c, p, (c) => c.i32(0), kc, 1, (c) => {
      for (let lane = 0; lane < GEMM_MR; lane++) {
        c.get(d);
        guardedLoad(c, s, rs, lane, rows);
        c.mem("f32Store", lane * 4);
      }
      advance(c);
    });
    c.end();
  });
  c.end();
  return { params: L.params, results: [], locals: L.locals, body: c };
};

/** macro(pa, pb, c, mc, nc, kc, ldc, accumulate, tile): C block (+)= packed A block · packed B block. */
const macroKernel = (fma: boolean): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [pa, pb, cBase, mc, nc, kc, ldc, accumulate, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const { j, i, cols, rows, pbj, p, q, pend, cp, r, col, addr } = L.named(i32, ["j", "i", "cols", "rows", "pbj", "p", "q", "pend", "cp", "r", "col", "addr"]);
  const acc = Array.from({ length: 8 }, () => L.add(v128));
  const [b0, b1, a] = [L.add(v128), L.add(v128), L.add(v128)];
  const c = new Code();
  forLoop(c, j, (c) => c.i32(0), nc, GEMM_NR, (c) => {
    minInto(c, cols, (c) => c.i32(GEMM_NR), (c) => c.get(nc).get(j).op("i32Sub"));
    c.get(pb).get(j).get(kc).op("i32Mul").i32(4).op("i32Mul").op("i32Add").set(pbj);
    forLoop(c, i, (c) => c.i32(0), mc, GEMM_MR, (c) => {
      minInto(c, rows, (c) => c.i32(GEMM_MR), (c) => c.get(mc).get(i).op("i32Sub"));
      for (const x of acc) c.f32x4(0).set(x);
      c.get(pa).get(i).get(kc).op("i32Mul").i32(4).op("i32Mul").op("i32Add").tee(p);
      c.get(kc).i32(GEMM_MR * 4).op("i32Mul").op("i32Add").set(pend);
      c.get(pbj).set(q);
      // The micro-kernel: per k, 2 loads of B, 4 splats of A, 8 multiply-adds.
      c.loop();
      c.get(q).simdMem("v128Load").set(b0).get(q).simdMem("v128Load", 16).set(b1);
      for (let row = 0; row < GEMM_MR; row++) {
        c.get(p).simdMem("v128Load32Splat", row * 4).set(a);
        for (const [half, b] of [[0, b0], [1, b1]] as const) {
          const x = acc[row * 2 + half]!;
          if (fma) c.get(a).get(b).get(x).simd("f32x4RelaxedMadd").set(x);
          else c.get(x).get(a).get(b).simd("f32x4Mul").simd("f32x4Add").set(x);
        }
      }
      c.get(p).i32(GEMM_MR * 4).op("i32Add").set(p).get(q).i32(GEMM_NR * 4).op("i32Add").set(q);
      c.get(p).get(pend).op("i32LtU").brIf(0).end();
      c.get(cBase).get(i).get(ldc).op("i32Mul").op("i32Add").get(j).i32(4).op("i32Mul").op("i32Add").set(cp);
      c.get(rows).i32(GEMM_MR).op("i32Eq").get(cols).i32(GEMM_NR).op("i32Eq").op("i32And").if();
      // Full tile: straight to C.
      for (const add of [true, false]) {
        if (add) c.get(accumulate).if();
        else c.else();
        for (let row = 0; row < GEMM_MR; row++) {
          for (let half = 0; half < 2; half++) {
            c.get(cp);
            if (add) c.get(cp).simdMem("v128Load", half * 16).get(acc[row * 2 + half]!).simd("f32x4Add");
            else c.get(acc[row * 2 + half]!);
            c.simdMem("v128Store", half * 16);
          }
          if (row < GEMM_MR - 1) c.get(cp).get(ldc).op("i32Add").set(cp);
        }
      }
      c.end();
      c.else();
      // Edge tile: through the tile buffer, element by element.
      acc.forEach((x, k) => c.get(tile).get(x).simdMem("v128Store", k * 16));
      forLoop(c, r, (c) => c.i32(0), rows, 1, (c) => {
        forLoop(c, col, (c) => c.i32(0), cols, 1, (c) => {
          c.get(cp).get(r).get(ldc).op("i32Mul").op("i32Add").get(col).i32(4).op("i32Mul").op("i32Add").tee(addr);
          c.get(tile).get(r).i32(GEMM_NR * 4).op("i32Mul").op("i32Add").get(col).i32(4).op("i32Mul").op("i32Add").mem("f32Load");
          c.get(addr).mem("f32Load").f32(0).get(accumulate).op("select").op("f32Add");
          c.mem("f32Store");
        });
      });
      c.end();
    });
  });
  c.end();
  return { params: L.params, results: [], locals: L.locals, body: c };
};

const PACK_B = 0;
const PACK_A = 1;
const MACRO = 2;

/** gemm(desc, t0, t1, j0, j1, scratch): the block loops over batches, column blocks, K blocks and row blocks. */
const gemmLoops = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32, i32]);
  const [desc, t0, t1, j0, j1, scratch] = [0, 1, 2, 3, 4, 5];
  const f = L.named(i32, ["m", "k", "a", "aRow", "aCol", "b", "bRow", "bCol", "c", "ldc", "cBatch", "aOffsets", "bOffsets", "accumulateC"]);
  const { t, at, bt, ct, jc, nc, pc, kc, ic, mc, packedA, packedB, tile, kb } = L.named(i32, ["t", "at", "bt", "ct", "jc", "nc", "pc", "kc", "ic", "mc", "packedA", "packedB", "tile", "kb"]);
  const c = new Code();
  for (const name of Object.keys(f) as (keyof typeof f)[]) c.get(desc).mem("i32Load", GemmDescriptor[name]).set(f[name]);
  loadKcBlock(c, desc, kb);
  c.get(scratch).set(packedA);
  c.get(scratch).i32(GEMM_PACK_A_BYTES).op("i32Add").set(packedB);
  c.get(packedB).i32(GEMM_PACK_B_BYTES).op("i32Add").set(tile);
  forLoop(c, t, (c) => c.get(t0), t1, 1, (c) => {
    c.get(f.a).get(f.aOffsets).get(t).i32(4).op("i32Mul").op("i32Add").mem("i32Load").op("i32Add").set(at);
    c.get(f.b).get(f.bOffsets).get(t).i32(4).op("i32Mul").op("i32Add").mem("i32Load").op("i32Add").set(bt);
    c.get(f.c).get(t).get(f.cBatch).op("i32Mul").op("i32Add").set(ct);
    forLoop(c, jc, (c) => c.get(j0), j1, GEMM_NC, (c) => {
      minInto(c, nc, (c) => c.i32(GEMM_NC), (c) => c.get(j1).get(jc).op("i32Sub"));
      forLoop(c, pc, (c) => c.i32(0), f.k, (c) => c.get(kb), (c) => {
        minInto(c, kc, (c) => c.get(kb), (c) => c.get(f.k).get(pc).op("i32Sub"));
        c.get(bt).get(pc).get(f.bRow).op("i32Mul").op("i32Add").get(jc).get(f.bCol).op("i32Mul").op("i32Add");
        c.get(f.bRow).get(f.bCol).get(kc).get(nc).get(packedB).call(PACK_B);
        forLoop(c, ic, (c) => c.i32(0), f.m, GEMM_MC, (c) => {
          minInto(c, mc, (c) => c.i32(GEMM_MC), (c) => c.get(f.m).get(ic).op("i32Sub"));
          c.get(at).get(ic).get(f.aRow).op("i32Mul").op("i32Add").get(pc).get(f.aCol).op("i32Mul").op("i32Add");
          c.get(f.aRow).get(f.aCol).get(mc).get(kc).get(packedA).call(PACK_A);
          c.get(packedA).get(packedB);
          c.get(ct).get(ic).get(f.ldc).op("i32Mul").op("i32Add").get(jc).i32(4).op("i32Mul").op("i32Add");
          c.get(mc).get(nc).get(kc).get(f.ldc).get(pc).i32(0).op("i32Ne").get(f.accumulateC).op("i32Or").get(tile).call(MACRO);
        });
      });
    });
  });
  c.end();
  return { exportName: "gemm", params: L.params, results: [], locals: L.locals, body: c };
};

const GEMM = 3;

/**
 * gemm_chunks(desc, scratch): claims chunks from the descriptor's counter until none are
 * left, so a descheduled thread delays only the chunk it holds. Mode 0: chunk t is batch t.
 * Mode 1 (a single product): the first `packTasks` claims pack B's column groups for all
 * K blocks into the shared packed B; later claims are row chunks (their sizes from the
 * descriptor's row-start table, largest first), which wait until every pack task has
 * finished, then pack their rows of A and run the macro-kernel over all n.
 */
const gemmChunks = (): FunctionDef => {
  const L = new Locals([i32, i32]);
  const [desc, scratch] = [0, 1];
  const f = L.named(i32, ["m", "n", "k", "a", "aRow", "aCol", "b", "bRow", "bCol", "c", "ldc", "mode", "batches", "chunks", "packTasks", "packCols", "packedB", "accumulateC", "rowStarts"]);
  const { claim, i0, mc, pc, kc, nPad, j0, cols, tile, at, kb } = L.named(i32, ["claim", "i0", "mc", "pc", "kc", "nPad", "j0", "cols", "tile", "at", "kb"]);
  const c = new Code();
  for (const name of Object.keys(f) as (keyof typeof f)[]) c.get(desc).mem("i32Load", GemmDescriptor[name]).set(f[name]);
  loadKcBlock(c, desc, kb);
  c.get(f.n).i32(GEMM_NR - 1).op("i32Add").i32(-GEMM_NR).op("i32And").set(nPad);
  c.get(scratch).i32(GEMM_PACK_A_BYTES + GEMM_PACK_B_BYTES).op("i32Add").set(tile);
  c.block().loop();
  c.get(desc).i32(1).atomic("i32RmwAdd", GemmDescriptor.claimed).set(claim);
  c.get(f.mode).op("i32Eqz").if();
  // Mode 0: batch `claim`.
  c.get(claim).get(f.batches).op("i32GeU").brIf(2);
  c.get(desc).get(claim).get(claim).i32(1).op("i32Add").i32(0).get(f.n).get(scratch).call(GEMM);
  c.br(1);
  c.end();
  c.get(claim).get(f.packTasks).op("i32LtU").if();
  // Pack task: columns [j0, j0 + cols) of B, every K block.
  c.get(claim).get(f.packCols).op("i32Mul").set(j0);
  minInto(c, cols, (c) => c.get(f.packCols), (c) => c.get(f.n).get(j0).op("i32Sub"));
  forLoop(c, pc, (c) => c.i32(0), f.k, (c) => c.get(kb), (c) => {
    minInto(c, kc, (c) => c.get(kb), (c) => c.get(f.k).get(pc).op("i32Sub"));
    c.get(f.b).get(pc).get(f.bRow).op("i32Mul").op("i32Add").get(j0).get(f.bCol).op("i32Mul").op("i32Add");
    c.get(f.bRow).get(f.bCol).get(kc).get(cols);
    c.get(f.packedB).get(pc).get(nPad).op("i32Mul").i32(4).op("i32Mul").op("i32Add").get(j0).get(kc).op("i32Mul").i32(4).op("i32Mul").op("i32Add");
    c.call(PACK_B);
  });
  c.get(desc).i32(1).atomic("i32RmwAdd", GemmDescriptor.packed).op("drop");
  c.br(1);
  c.end();
  // Row chunk claim - packTasks: rows [starts[c], starts[c + 1]).
  c.get(claim).get(f.packTasks).op("i32Sub").tee(at).get(f.chunks).op("i32GeU").brIf(1);
  c.get(f.rowStarts).get(at).i32(4).op("i32Mul").op("i32Add").tee(at).mem("i32Load").set(i0);
  c.get(at).mem("i32Load", 4).get(i0).op("i32Sub").set(mc);
  // Wait (spinning) until the shared packed B is complete.
  c.block().loop();
  c.get(desc).atomic("i32Load", GemmDescriptor.packed).get(f.packTasks).op("i32GeU").brIf(1).br(0);
  c.end().end();
  forLoop(c, pc, (c) => c.i32(0), f.k, (c) => c.get(kb), (c) => {
    minInto(c, kc, (c) => c.get(kb), (c) => c.get(f.k).get(pc).op("i32Sub"));
    c.get(f.a).get(i0).get(f.aRow).op("i32Mul").op("i32Add").get(pc).get(f.aCol).op("i32Mul").op("i32Add");
    c.get(f.aRow).get(f.aCol).get(mc).get(kc).get(scratch).call(PACK_A);
    c.get(scratch).get(f.packedB).get(pc).get(nPad).op("i32Mul").i32(4).op("i32Mul").op("i32Add");
    c.get(f.c).get(i0).get(f.ldc).op("i32Mul").op("i32Add");
    c.get(mc).get(f.n).get(kc).get(f.ldc).get(pc).i32(0).op("i32Ne").get(f.accumulateC).op("i32Or").get(tile).call(MACRO);
  });
  c.br(0);
  c.end().end();
  c.end();
  return { exportName: "gemm_chunks", params: L.params, results: [], locals: L.locals, body: c };
};

/** Bytes of one thread's scratch: packed A, packed B, edge tile. */
export const GEMM_SCRATCH_BYTES = GEMM_PACK_A_BYTES + GEMM_PACK_B_BYTES + GEMM_TILE_BYTES;

/**
 * The GEMM module's bytes.
 * @example new WebAssembly.Module(gemmModuleBytes({ fma: wasmFeatures().relaxedSimd, shared: true }));
 */
export const gemmModuleBytes = (options: { readonly fma: boolean; readonly shared: boolean }): Uint8Array => {
  const functions = [packB(), packA(), macroKernel(options.fma), gemmLoops(), gemmChunks(), im2colFunction(), col2imAddFunction(), reduceSumFunction(), softmaxRowsFunction()];
  functions.push(reduceSumBitsFunction(functions.findIndex((f) => f.exportName === "reduce_sum")), randomUniformFunction());
  return encodeModule({ memory: { module: "env", name: "memory", minPages: 1, maxPages: 65536, shared: options.shared }, functions });
};
