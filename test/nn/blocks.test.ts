/**
 * Model building blocks: batch norm (training vs evaluation, running statistics),
 * layer norm, dropout (deterministic, keyed, on only in training), attention (causality,
 * softmax weights) and the layers' typed shapes.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { Expect, Equal } from "../types/fixtures/expect.js";

const run = (ts: readonly tg.AnyTensor[], feeds: Record<string, tg.TensorValue>): tg.TensorValue[] => tg.evaluate(ts.map((t) => t.node), feeds, { allowExtraFeeds: true });
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 7.31 + seed) * 2);

describe("batchNorm", () => {
  const x = tg.input("x", [4, 2, 3, 3], "f64");
  const p = tg.layers.batchNorm.init("bn", 2, "f64");
  const data = values(72, 1);
  const feeds = {
    x: tg.tensorValue("f64", [4, 2, 3, 3], data),
    "bn.scale": tg.tensorValue("f64", [2], [2, 1]),
    "bn.offset": tg.tensorValue("f64", [2], [0, 1]),
    "bn.runningMean": tg.tensorValue("f64", [2], [0.5, -1]),
    "bn.runningVar": tg.tensorValue("f64", [2], [4, 1]),
  };
  const channel = (c: number): number[] => data.filter((_, i) => Math.floor(i / 9) % 2 === c);
  const meanOf = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const varOf = (v: number[]): number => meanOf(v.map((a) => (a - meanOf(v)) ** 2));

  it("normalizes with the batch's statistics in training mode and returns updated running ones", () => {
    const out = tg.layers.batchNorm(p, { training: true })(x);
    expect(out.updates.map((u) => u.state)).toEqual([p.runningMean, p.runningVar]);
    const [y, m, v] = run([out.y, out.updates[0]!.next, out.updates[1]!.next], feeds);
    for (const c of [0, 1]) {
      const vals = channel(c);
      const idx = data.findIndex((_, i) => Math.floor(i / 9) % 2 === c);
      const scale = [2, 1][c]!;
      const offset = [0, 1][c]!;
      expect(y!.data[idx]).toBeCloseTo(((data[idx]! - meanOf(vals)) / Math.sqrt(varOf(vals) + 1e-5)) * scale + offset, 10);
      expect(m!.data[c]).toBeCloseTo(0.9 * [0.5, -1][c]! + 0.1 * meanOf(vals), 12);
      expect(v!.data[c]).toBeCloseTo(0.9 * [4, 1][c]! + 0.1 * varOf(vals), 12);
    }
  });

  it("uses the running statistics in evaluation mode and updates nothing", () => {
    const out = tg.layers.batchNorm(p, { training: false })(x);
    expect(out.updates).toEqual([]);
    const [y] = run([out.y], feeds);
    expect(y!.data[0]).toBeCloseTo(((data[0]! - 0.5) / Math.sqrt(4 + 1e-5)) * 2, 12);
    expect(y!.data[9]).toBeCloseTo((data[9]! + 1) / Math.sqrt(1 + 1e-5) + 1, 12);
  });
});

describe("layerNorm", () => {
  it("normalizes the last axis to mean 0 and variance 1 before scale and offset", () => {
    const x = tg.input("x", [3, 5], "f64");
    const [y] = run([tg.layerNorm(x)], { x: tg.tensorValue("f64", [3, 5], values(15, 2)) });
    for (let r = 0; r < 3; r++) {
      const row = Array.from(y!.data.subarray(r * 5, r * 5 + 5));
      const mu = row.reduce((a, b) => a + b, 0) / 5;
      expect(mu).toBeCloseTo(0, 12);
      expect(row.reduce((a, b) => a + (b - mu) ** 2, 0) / 5).toBeCloseTo(1, 4);
    }
  });
});

describe("dropout", () => {
  const x = tg.input("x", [200, 50], "f32");
  const key = tg.stepKey();
  const ones = tg.tensorValue("f32", [200, 50], new Array<number>(10000).fill(1));
  const withKey = (k: number): Record<string, tg.TensorValue> => ({ x: ones, [tg.STEP_KEY_INPUT]: tg.tensorValue("i32", [], [k]) });

  it("zeroes about `rate` of the elements and scales the rest by 1 / (1 - rate)", () => {
    const [y] = run([tg.dropout(x, 0.25, { training: true, key, stream: 1 })], withKey(7));
    const kept = Array.from(y!.data).filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.75)]));
    expect(Math.abs(kept.length / 10000 - 0.75)).toBeLessThan(0.02);
  });

  it("is a function of (key, stream): same mask for the same key, others for another key or stream", () => {
    const a = tg.dropout(x, 0.5, { training: true, key, stream: 1 });
    const b = tg.dropout(x, 0.5, { training: true, key, stream: 2 });
    const [a7, b7] = run([a, b], withKey(7));
    const [a7again] = run([a], withKey(7));
    const [a8] = run([a], withKey(8));
    expect(Array.from(a7again!.data)).toEqual(Array.from(a7!.data));
    const agreement = (u: tg.TensorValue, v: tg.TensorValue): number => Array.from(u.data).filter((e, i) => e === v.data[i]).length / u.data.length;
    expect(agreement(a7!, a8!)).toBeLessThan(0.6);
    expect(agreement(a7!, b7!)).toBeLessThan(0.6);
  });

  it("is the identity in evaluation mode and at rate 0, and passes gradients only through kept elements", () => {
    expect(tg.dropout(x, 0.5, { training: false, key, stream: 1 })).toBe(x);
    expect(tg.dropout(x, 0, { training: true, key, stream: 1 })).toBe(x);
    const y = tg.dropout(x, 0.5, { training: true, key, stream: 3 });
    const [dx] = tg.grad(tg.sum(y), [x]);
    const [yv, dv] = run([y, dx!], withKey(1));
    expect(Array.from(dv!.data)).toEqual(Array.from(yv!.data));
    expect(() => tg.dropout(x, 1, { training: true, key, stream: 1 })).toThrow(/rate must be in \[0, 1\)/);
  });
});

describe("attention", () => {
  const q = tg.input("q", [2, 5, 4], "f64");
  const k = tg.input("k", [2, 5, 4], "f64");
  const v = tg.input("v", [2, 5, 3], "f64");
  const feeds = (seed: number) => ({
    q: tg.tensorValue("f64", [2, 5, 4], values(40, seed)),
    k: tg.tensorValue("f64", [2, 5, 4], values(40, seed + 1)),
    v: tg.tensorValue("f64", [2, 5, 3], values(30, seed + 2)),
  });

  it("is softmax(q·kᵀ/√d)·v", () => {
    const out = tg.scaledDotProductAttention(q, k, v);
    type _shape = Expect<Equal<typeof out, tg.Tensor<readonly [2, 5, 3], "f64">>>;
    const f = feeds(1);
    const [y] = run([out], f);
    const dot = (i: number, j: number): number => Array.from({ length: 4 }, (_, c) => f.q.data[i * 4 + c]! * f.k.data[j * 4 + c]!).reduce((a, b) => a + b, 0) / 2;
    const w = Array.from({ length: 5 }, (_, j) => Math.exp(dot(1, j)));
    const total = w.reduce((a, b) => a + b, 0);
    expect(y!.data[1 * 3 + 2]).toBeCloseTo(w.reduce((s, wj, j) => s + (wj / total) * f.v.data[j * 3 + 2]!, 0), 12);
  });

  it("with causal masking, position i does not depend on later positions", () => {
    const out = tg.scaledDotProductAttention(q, k, v, { causal: true });
    const base = feeds(3);
    const [y0] = run([out], base);
    const later = { ...base, k: { ...base.k, data: Float64Array.from(base.k.data, (e, i) => (Math.floor(i / 4) % 5 >= 3 ? e + 5 : e)) }, v: { ...base.v, data: Float64Array.from(base.v.data, (e, i) => (Math.floor(i / 3) % 5 >= 3 ? e - 7 : e)) } };
    const [y1] = run([out], later);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 5; i++)
        for (let c = 0; c < 3; c++) {
          const at = (b * 5 + i) * 3 + c;
          if (i < 3) expect(y1!.data[at]).toBe(y0!.data[at]);
        }
    expect(Array.from(y1!.data)).not.toEqual(Array.from(y0!.data));
  });
});

describe("layers' typed shapes", () => {
  it("compute conv, residual and transformer output shapes", () => {
    const B = tg.sym("batch");
    type B = tg.Sym<"batch">;
    const img = tg.input("img", [B, 3, 32, 32]);
    const stem = tg.layers.conv2d(tg.layers.conv2d.init("stemT", 3, 16, 3), { padding: "same" })(img);
    const block = tg.layers.residualBlock(tg.layers.residualBlock.init("blockT", 16, 32, { stride: 2 }), { training: false })(stem);
    const seq = tg.input("seq", [B, 10, 32]);
    const attn = tg.layers.transformerBlock(tg.layers.transformerBlock.init("tbT", 32, { heads: 4 }), { training: false }, { causal: true })(seq);
    type _shapes = [
      Expect<Equal<typeof stem, tg.Tensor<readonly [B, 16, 32, 32], "f32">>>,
      Expect<Equal<typeof block.y, tg.Tensor<readonly [B, 32, 16, 16], "f32">>>,
      Expect<Equal<typeof attn, tg.Tensor<readonly [B, 10, 32], "f32">>>,
    ];
    expect(block.y.node.shape).toEqual(["batch", 32, 16, 16]);
    expect(attn.node.shape).toEqual(["batch", 10, 32]);
    expect(() => tg.layers.transformerBlock(tg.layers.transformerBlock.init("tbDrop", 32, { heads: 4 }), { training: true }, { dropout: 0.1 })(seq)).toThrow(/needs a key/);
  });
});
