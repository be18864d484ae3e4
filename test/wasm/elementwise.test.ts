/**
 * Fused elementwise groups compiled to wasm SIMD against the JavaScript fused loops of
 * the same groups (which equal the reference kernels bit for bit): exact ops bit for bit,
 * transcendental ones within the `vmath` bounds; every access kind (full, scalar, literal,
 * row and column broadcasting, general broadcasting), sizes that are not multiples of
 * four, rank 0, empty tensors; and which groups stay in JavaScript.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";
import type { DynamicShape } from "../../src/types/dims.js";
import { fuseElementwise } from "../../compiler/passes/fuseElementwise.js";
import { orThrow } from "../../compiler/errors.js";
import { bindFusedLoop, compileFusedLoop, emitFusedLoop, type FusedLoopSource } from "../../runtime/codegen/elementwise.js";
import { sharedWasmContext } from "../../runtime/wasm/context.js";
import { bindWasmFused, compileWasmFused, FUSED_SPLIT_ELEMENTS, wasmFusible, type FusedThreads } from "../../runtime/wasm/elementwise.js";
import { maxThreads } from "../../runtime/wasm/context.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { randomF32, toHeap } from "./support.js";

type AnyTensor = Tensor<DynamicShape, "f32">;

/** The fused loop of the graph's single output's group. */
const loopOf = (out: AnyTensor): FusedLoopSource => {
  const g = tg.buildGraph({ out });
  const plan = orThrow(fuseElementwise(g));
  const group = plan.groupOf.get(g.outputs[0]!);
  if (group === undefined) throw new Error("output is not fused");
  return emitFusedLoop(group);
};

const ulps = (got: number, want: number): number => {
  if (Number.isNaN(got) || Number.isNaN(want)) return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  if (got === want) return 0;
  if (!Number.isFinite(want) || !Number.isFinite(got)) return Infinity;
  const a = Math.max(Math.abs(want), 2 ** -126);
  return Math.abs(got - want) / 2 ** (Math.floor(Math.log2(a)) - 23);
};

/**
 * Runs `loop` both ways on inputs of `shapes` (values from `values`; bool inputs are
 * values > 0) and returns the worst ulp distance (bool outputs: 0 or Infinity).
 */
const compare = (emitted: FusedLoopSource, rootShape: number[], values: (n: number, k: number) => Float32Array, threading?: FusedThreads): { worst: number; at: string; got: Float32Array | Uint8Array } => {
  const shapes = emitted.arrays.map((a) => a.node.shape as number[]);
  const ctx = sharedWasmContext()!;
  const compiled = compileWasmFused([emitted], true)!;
  const inputs = emitted.arrays.map((a, k) => {
    const v = values(shapes[k]!.reduce((x, y) => x * y, 1), k);
    return a.node.dtype === "bool" ? Uint8Array.from(v, (x) => (x > 0 ? 1 : 0)) : v;
  });
  const size = rootShape.reduce((x, y) => x * y, 1);
  const bool = emitted.group.root.dtype === "bool";
  const make = (n: number): Float32Array | Uint8Array => (bool ? new Uint8Array(n) : new Float32Array(n));
  const want = make(size);
  bindFusedLoop(emitted, compileFusedLoop(emitted), rootShape, shapes).run(want, inputs);
  const at = inputs.map((x) => toHeap(ctx.heap, x));
  // Sixteen guard elements after the output: none may be written.
  const outAt = toHeap(ctx.heap, make(size + 16).fill(123));
  const bound = bindWasmFused(ctx, compiled, 0, emitted, rootShape, shapes, threading);
  bound.run(outAt, at);
  const got = (bool ? new Uint8Array(ctx.heap.buffer, outAt, size + 16) : new Float32Array(ctx.heap.buffer, outAt, size + 16)).slice();
  bound.free();
  for (const a of [...at, outAt]) ctx.heap.free(a);
  expect([...got.subarray(size)], "wrote past the output").toEqual(new Array(16).fill(123));
  let worst = 0;
  let where = "";
  want.forEach((w, i) => {
    const e = ulps(got[i]!, w);
    if (e > worst) [worst, where] = [e, `[${i}] got ${got[i]} want ${w}`];
  });
  return { worst, at: where, got: got.subarray(0, size) };
};

const uniform = (lo: number, hi: number) => (n: number, k: number): Float32Array => randomF32(n, 7 + k).map((u) => lo + ((u + 1) / 2) * (hi - lo));

describe.skipIf(!wasmFeatures().simd)("wasm fused elementwise", () => {
  const x = (shape: readonly number[], name = "x"): AnyTensor => tg.erase(tg.input(name, shape as number[], "f32"));

  it("bias + tanh with a broadcast row: within 3 ulp, odd sizes included", () => {
    for (const [rows, cols] of [[7, 13], [128, 256], [1, 1], [3, 4], [5, 3]]) {
      const out = tg.tanh(tg.add(x([rows!, cols!]), x([cols!], "b")));
      const r = compare(loopOf(out), [rows!, cols!], uniform(-5, 5));
      expect(r.worst, r.at).toBeLessThanOrEqual(3);
    }
  });

  it("exact ops match bit for bit: arithmetic, min/max, relu, sign, abs, square, sqrt, where, casts, mulNoNan", () => {
    const a = x([9, 11]);
    const b = x([9, 11], "b");
    const c = x([1, 11], "c");
    const mask = tg.greater(a, b);
    const out = tg.add(
      tg.mul(tg.sub(tg.div(a, tg.add(tg.abs(b), tg.scalar(0.5))), tg.maximum(a, c)), tg.minimum(tg.relu(b), tg.sign(a))),
      tg.add(tg.where(mask, tg.square(a), tg.sqrt(tg.abs(b))), tg.add(tg.cast(tg.lessEqual(a, c), "f32"), tg.mulNoNan(tg.cast(mask, "f32"), tg.neg(c)))),
    );
    const r = compare(loopOf(out as AnyTensor), [9, 11], uniform(-3, 3));
    expect(r.worst, r.at).toBe(0);
  });

  it("transcendentals within the vmath bounds", () => {
    const a = x([37]);
    const cases: [AnyTensor, (n: number, k: number) => Float32Array, number][] = [
      [tg.exp(a), uniform(-80, 80), 2],
      [tg.log(a), uniform(1e-3, 1e3), 2],
      [tg.sigmoid(a), uniform(-30, 30), 3],
      [tg.softplus(a), uniform(-30, 30), 3],
      [tg.erf(a), uniform(-4, 4), 3],
      [tg.gelu(a), uniform(-8, 8), 8],
    ];
    for (const [out, values, bound] of cases) {
      const r = compare(loopOf(out), [37], values);
      expect(r.worst, `${out.node.op}: ${r.at}`).toBeLessThanOrEqual(bound);
    }
  });

  it("reads scalars, literals, columns and general broadcasts like the JS loop", () => {
    const cases: [AnyTensor, number[]][] = [
      [tg.mul(x([6, 5]), x([], "s")), [6, 5]],
      [tg.add(tg.mul(x([6, 5]), tg.scalar(2.5)), tg.scalar(-1)), [6, 5]],
      [tg.sub(x([6, 5]), x([6, 1], "col")), [6, 5]],
      [tg.add(x([2, 1, 7]), x([3, 1], "y")), [2, 3, 7]],
      [tg.mul(x([2, 3, 1]), x([1, 3, 6], "y")), [2, 3, 6]],
      [tg.add(x([]), x([], "y")), []],
      [tg.add(x([0, 5]), x([5], "y")), [0, 5]],
    ];
    for (const [out, root] of cases) {
      const r = compare(loopOf(out), root, uniform(-2, 2));
      expect(r.worst, `${JSON.stringify(root)}: ${r.at}`).toBe(0);
    }
  });

  it("leaves groups without a vector form, f64 and i32 groups to JavaScript; takes bool inputs and outputs", () => {
    expect(wasmFusible(loopOf(tg.sin(x([4]))))).toBe(false);
    expect(wasmFusible(loopOf(tg.pow(x([4]), x([4], "p"))))).toBe(false);
    expect(wasmFusible(loopOf(tg.erase(tg.exp(tg.input("d", [4], "f64"))) as unknown as AnyTensor))).toBe(false);
    expect(wasmFusible(loopOf(tg.erase(tg.cast(tg.input("k", [4], "i32"), "f32")) as AnyTensor))).toBe(false);
    expect(wasmFusible(emitFusedLoop(orThrow(fuseElementwise(tg.buildGraph({ m: tg.greater(x([4]), x([4], "y")) }))).groups[0]!))).toBe(true);
    expect(wasmFusible(loopOf(tg.where(tg.erase(tg.input("m", [4], "bool")), x([4]), x([4], "y"))))).toBe(true);
    expect(wasmFusible(loopOf(tg.tanh(x([4]))))).toBe(true);
  });

  it("reads bool masks (full, scalar, rows, columns) and writes bool outputs bit for bit, odd sizes and split across threads included", async () => {
    const mask = (shape: readonly number[], name: string) => tg.erase(tg.input(name, shape as number[], "bool"));
    const boolOut = (t: unknown): FusedLoopSource => {
      const g = tg.buildGraph({ m: t as AnyTensor });
      return emitFusedLoop(orThrow(fuseElementwise(g)).groupOf.get(g.outputs[0]!)!);
    };
    const cases: [FusedLoopSource, number[]][] = [
      [loopOf(tg.where(mask([7, 13], "m"), x([7, 13]), tg.scalar(0))), [7, 13]],
      [loopOf(tg.mul(tg.where(mask([5, 1, 6], "m"), x([5, 3, 6]), tg.scalar(-1e9)), tg.scalar(0.125))), [5, 3, 6]],
      [loopOf(tg.where(mask([9], "m"), x([4, 9]), x([4, 9], "y"))), [4, 9]],
      [loopOf(tg.where(mask([6, 1], "m"), x([6, 11]), tg.scalar(2))), [6, 11]],
      [loopOf(tg.where(mask([], "m"), x([3, 5]), x([3, 5], "y"))), [3, 5]],
      [loopOf(tg.add(tg.cast(mask([2, 3, 7], "m"), "f32") as AnyTensor, x([2, 3, 7]))), [2, 3, 7]],
      [loopOf(tg.mulNoNan(tg.cast(tg.equal(mask([33], "m"), mask([33], "n")), "f32") as AnyTensor, x([33]))), [33]],
      [boolOut(tg.greaterEqual(x([37]), tg.scalar(0.1))), [37]],
      [boolOut(tg.less(x([6, 7]), x([7], "y"))), [6, 7]],
      [boolOut(tg.notEqual(mask([5, 3], "m"), tg.greater(x([5, 3]), tg.scalar(0)))), [5, 3]],
      [boolOut(tg.greaterEqual(x([129, 130]), tg.scalar(0.1))), [129, 130]],
      [loopOf(tg.where(mask([131, 1, 130], "m"), x([131, 2, 130]), tg.scalar(0))), [131, 2, 130]],
    ];
    const pool = wasmFeatures().threads && maxThreads() >= 2 ? sharedWasmContext()!.pool(2) : undefined;
    if (pool !== undefined) expect(await pool.ready()).toBe(true);
    for (const [emitted, root] of cases) {
      expect(wasmFusible(emitted), JSON.stringify(root)).toBe(true);
      const one = compare(emitted, root, uniform(-1, 1));
      expect(one.worst, `${JSON.stringify(root)}: ${one.at}`).toBe(0);
      if (pool === undefined) continue;
      const two = compare(emitted, root, uniform(-1, 1), { pool, threads: 2 });
      expect([...two.got], JSON.stringify(root)).toEqual([...one.got]);
    }
  });

  it.skipIf(!wasmFeatures().threads || maxThreads() < 2)("splits large groups across threads with the same results as one thread, on every access kind", async () => {
    const pool = sharedWasmContext()!.pool(2)!;
    expect(await pool.ready()).toBe(true);
    const threading = { pool, threads: 2 };
    const cases: [AnyTensor, number[]][] = [
      [tg.tanh(tg.add(x([129, 257]), x([257], "b"))), [129, 257]],
      [tg.sub(tg.mul(x([301, 67]), tg.scalar(0.5)), x([301, 67], "g")), [301, 67]],
      [tg.mul(x([200, 101]), x([], "s")), [200, 101]],
      [tg.sub(x([130, 131]), x([130, 1], "col")), [130, 131]],
      [tg.add(x([2, 1, 97]), x([130, 1], "y")), [2, 130, 97]],
      [tg.gelu(x([FUSED_SPLIT_ELEMENTS + 3])), [FUSED_SPLIT_ELEMENTS + 3]],
    ];
    for (const [out, root] of cases) {
      expect(root.reduce((a, b) => a * b, 1)).toBeGreaterThanOrEqual(FUSED_SPLIT_ELEMENTS);
      const emitted = loopOf(out);
      const one = compare(emitted, root, uniform(-3, 3));
      const two = compare(emitted, root, uniform(-3, 3), threading);
      expect(two, JSON.stringify(root)).toEqual(one);
    }
  });
});
