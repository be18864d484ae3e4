/**
 * Static and runtime shapes agree: each case builds a node, checks its runtime shape
 * and dtype, and (through `expectTypeOf`, checked by `tsc --noEmit -p .`) that the
 * static type is exactly the same shape. Also covers `flatten`'s runtime behaviour and
 * that a mistake the types would reject is also rejected at run time.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as tg from "../../src/index.js";
import { ShapeError } from "../../src/errors.js";
import type { Sym, Tensor } from "../../src/index.js";

type B = Sym<"batch">;
const B = tg.sym("batch");
const runtime = (t: tg.AnyTensor): { shape: readonly (number | string)[]; dtype: string } => ({ shape: t.node.shape, dtype: t.node.dtype });

describe("static shapes match runtime shapes", () => {
  it("broadcasting, scalars and comparisons", () => {
    const y = tg.sub(tg.input("a", [B, 1, 3], "f64"), tg.input("c", [4, 1], "f64"));
    expectTypeOf(y).toEqualTypeOf<Tensor<readonly [B, 4, 3], "f64">>();
    expect(runtime(y)).toEqual({ shape: ["batch", 4, 3], dtype: "f64" });
    const m = tg.less(y, 0);
    expectTypeOf(m).toEqualTypeOf<Tensor<readonly [B, 4, 3], "bool">>();
    expect(runtime(m)).toEqual({ shape: ["batch", 4, 3], dtype: "bool" });
    const w = tg.where(tg.input("m", [2, 1, 1, 1], "bool"), y, 0);
    expectTypeOf(w).toEqualTypeOf<Tensor<readonly [2, B, 4, 3], "f64">>();
    expect(runtime(w)).toEqual({ shape: [2, "batch", 4, 3], dtype: "f64" });
  });

  it("reductions with negative axes, tuples and keepdims; argmax", () => {
    const x = tg.input("x", [2, 3, 4]);
    const s = tg.sum(x, [0, -1], { keepdims: true });
    expectTypeOf(s).toEqualTypeOf<Tensor<readonly [1, 3, 1], "f32">>();
    expect(runtime(s).shape).toEqual([1, 3, 1]);
    const a = tg.argmax(x);
    expectTypeOf(a).toEqualTypeOf<Tensor<readonly [2, 3], "i32">>();
    expect(runtime(a)).toEqual({ shape: [2, 3], dtype: "i32" });
    const all = tg.mean(x);
    expectTypeOf(all).toEqualTypeOf<Tensor<readonly [], "f32">>();
    expect(runtime(all).shape).toEqual([]);
  });

  it("reshape and flatten with realistic sizes", () => {
    const photos = tg.input("photos", [B, 224, 224, 3]);
    const v = tg.reshape(photos, [B, 150528]);
    expectTypeOf(v).toEqualTypeOf<Tensor<readonly [B, 150528], "f32">>();
    expect(runtime(v).shape).toEqual(["batch", 150528]);
    const f = tg.flatten(photos);
    expectTypeOf(f).toEqualTypeOf<Tensor<readonly [B, 150528], "f32">>();
    expect(runtime(f).shape).toEqual(["batch", 150528]);
    expect(f.node.op).toBe("reshape");
    const f0 = tg.flatten(tg.input("cube", [2, 3, 4]), 0);
    expectTypeOf(f0).toEqualTypeOf<Tensor<readonly [24], "f32">>();
    expect(runtime(f0).shape).toEqual([24]);
    const fNeg = tg.flatten(tg.input("cube2", [2, 3, 4]), -2);
    expectTypeOf(fNeg).toEqualTypeOf<Tensor<readonly [2, 12], "f32">>();
    expect(runtime(fNeg).shape).toEqual([2, 12]);
    const lastSym = tg.flatten(tg.input("ts", [3, B]));
    expectTypeOf(lastSym).toEqualTypeOf<Tensor<readonly [3, B], "f32">>();
    expect(runtime(lastSym).shape).toEqual([3, "batch"]);
  });

  it("flatten rejects what its types reject, naming the shape and the user's line", () => {
    const seq = tg.erase(tg.input("seq", [B, tg.sym("time"), 8]));
    expect(() => tg.flatten(seq)).toThrow(ShapeError);
    expect(() => tg.flatten(seq)).toThrow(/flatten: cannot flatten symbolic dim time of \[batch, time, 8\] from axis 1 \(at test\/types\/static-runtime\.test\.ts:\d+/);
    expect(() => tg.flatten(tg.erase(tg.input("v", [784])))).toThrow(/flatten: axis 1 out of range for rank 1 \(\[784\]\)/);
  });

  it("transpose, broadcastTo, expandDims, squeeze", () => {
    const x = tg.input("btc", [B, 5, 8]);
    const t = tg.transpose(x, [0, -1, 1]);
    expectTypeOf(t).toEqualTypeOf<Tensor<readonly [B, 8, 5], "f32">>();
    expect(runtime(t).shape).toEqual(["batch", 8, 5]);
    const r = tg.transpose(x);
    expectTypeOf(r).toEqualTypeOf<Tensor<readonly [8, 5, B], "f32">>();
    expect(runtime(r).shape).toEqual([8, 5, "batch"]);
    const b = tg.broadcastTo(tg.param("bias", [8]), [B, 5, 8]);
    expectTypeOf(b).toEqualTypeOf<Tensor<readonly [B, 5, 8], "f32">>();
    expect(runtime(b).shape).toEqual(["batch", 5, 8]);
    const e = tg.expandDims(x, -1);
    expectTypeOf(e).toEqualTypeOf<Tensor<readonly [B, 5, 8, 1], "f32">>();
    expect(runtime(e).shape).toEqual(["batch", 5, 8, 1]);
    const q = tg.squeeze(tg.input("ones", [1, 3, 1]));
    expectTypeOf(q).toEqualTypeOf<Tensor<readonly [3], "f32">>();
    expect(runtime(q).shape).toEqual([3]);
  });

  it("concat, slice, pad, gather, scatterAdd", () => {
    const c = tg.concat([tg.input("p", [1000, 8]), tg.input("q", [24, 8]), tg.input("r", [1, 8])], 0);
    expectTypeOf(c).toEqualTypeOf<Tensor<readonly [1025, 8], "f32">>();
    expect(runtime(c).shape).toEqual([1025, 8]);
    const s = tg.slice(tg.input("s", [4, 20]), [[1, -1], [-7, 20, 3]]);
    expectTypeOf(s).toEqualTypeOf<Tensor<readonly [2, 3], "f32">>();
    expect(runtime(s).shape).toEqual([2, 3]);
    const p = tg.pad(tg.input("img", [B, 28, 28]), [[0, 0], [2, 2], [1, 0]]);
    expectTypeOf(p).toEqualTypeOf<Tensor<readonly [B, 32, 29], "f32">>();
    expect(runtime(p).shape).toEqual(["batch", 32, 29]);
    const ids = tg.input("ids", [B, 20], "i32");
    const g = tg.gather(tg.param("emb", [1000, 64]), ids);
    expectTypeOf(g).toEqualTypeOf<Tensor<readonly [B, 20, 64], "f32">>();
    expect(runtime(g).shape).toEqual(["batch", 20, 64]);
    const back = tg.scatterAdd(g, ids, 0, [1000, 64]);
    expectTypeOf(back).toEqualTypeOf<Tensor<readonly [1000, 64], "f32">>();
    expect(runtime(back).shape).toEqual([1000, 64]);
  });

  it("matmul (batched, broadcast, transposed), softmax, oneHot, cast", () => {
    const mm = tg.matmul(tg.input("a", [5, 1, 3, 4]), tg.input("b", [6, 4, 2]));
    expectTypeOf(mm).toEqualTypeOf<Tensor<readonly [5, 6, 3, 2], "f32">>();
    expect(runtime(mm).shape).toEqual([5, 6, 3, 2]);
    const tt = tg.matmul(tg.param("A", [4, 3]), tg.param("Bm", [2, 4]), { transposeA: true, transposeB: true });
    expectTypeOf(tt).toEqualTypeOf<Tensor<readonly [3, 2], "f32">>();
    expect(runtime(tt).shape).toEqual([3, 2]);
    const sm = tg.softmax(mm, 1);
    expectTypeOf(sm).toEqualTypeOf<Tensor<readonly [5, 6, 3, 2], "f32">>();
    const hot = tg.oneHot(tg.input("labels", [B], "i32"), 10, "f64");
    expectTypeOf(hot).toEqualTypeOf<Tensor<readonly [B, 10], "f64">>();
    expect(runtime(hot)).toEqual({ shape: ["batch", 10], dtype: "f64" });
    const asInt = tg.cast(hot, "i32");
    expectTypeOf(asInt).toEqualTypeOf<Tensor<readonly [B, 10], "i32">>();
    expect(runtime(asInt).dtype).toBe("i32");
  });

  it("dynamically typed tensors keep working and mistakes still fail at run time", () => {
    const dyn: tg.AnyTensor = tg.input("d", [2, 3], "f64");
    const y = tg.matmul(tg.add(dyn, 1), tg.transpose(dyn));
    expectTypeOf(y).toEqualTypeOf<tg.Failed>();
    expect(runtime(y).shape).toEqual([2, 2]);
    expect(() => tg.matmul(dyn, dyn)).toThrow(/matmul: inner dims differ: 3 \(lhs \[2, 3\]\) vs 2 \(rhs \[2, 3\]\)/);
  });
});
