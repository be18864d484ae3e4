/**
 * conv2d and pooling in the DSL: runtime shapes agree with the static ones for each
 * padding mode, values agree with a direct computation, the errors name the op, the
 * user's shapes and source line, and a gradient through a whole conv/pool stack matches
 * finite differences.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as tg from "../../src/index.js";
import { ShapeError } from "../../src/errors.js";
import { samePadding, windowCount } from "../../src/graph/window.js";

const B = tg.sym("batch");
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
const run = (t: tg.AnyTensor, feeds: Record<string, tg.TensorValue>): tg.TensorValue => tg.evaluate([t.node], feeds, { allowExtraFeeds: true })[0]!;

describe("window geometry", () => {
  it("counts windows and 'same' padding like TensorFlow and ONNX SAME_UPPER", () => {
    expect(windowCount(28, 3, 2, 1, 0, 0)).toBe(13);
    expect(windowCount(28, 3, 1, 2, 0, 0)).toBe(24);
    expect(windowCount(2, 3, 1, 1, 0, 0)).toBe(0);
    expect(samePadding(28, 3, 1, 1)).toEqual([1, 1]);
    expect(samePadding(28, 3, 2, 1)).toEqual([0, 1]);
    expect(samePadding(7, 1, 2, 1)).toEqual([0, 0]);
    for (const [n, k, s, d] of [[28, 3, 2, 1], [13, 5, 3, 2], [1, 4, 1, 1], [9, 2, 2, 1]] as const) {
      const [a, b] = samePadding(n, k, s, d);
      expect(windowCount(n, k, s, d, a, b)).toBe(Math.ceil(n / s));
    }
  });
});

describe("conv2d and pooling in the DSL", () => {
  const x = tg.input("x", [B, 2, 9, 8], "f64");
  const w = tg.param("w", [4, 2, 3, 3], "f64");
  const feeds = { x: tg.tensorValue("f64", [3, 2, 9, 8], values(3 * 2 * 9 * 8, 1)), w: tg.tensorValue("f64", [4, 2, 3, 3], values(72, 2)) };

  it("has the same static shapes as runtime shapes", () => {
    type Bt = tg.Sym<"batch">;
    const same = tg.conv2d(x, w, { padding: "same", stride: 2 });
    expectTypeOf(same).toEqualTypeOf<tg.Tensor<readonly [Bt, 4, 5, 4], "f64">>();
    const explicit = tg.conv2d(x, w, { padding: [[2, 0], [1, 3]], stride: [1, 2] });
    expectTypeOf(explicit).toEqualTypeOf<tg.Tensor<readonly [Bt, 4, 9, 5], "f64">>();
    const dilated = tg.conv2d(x, w, { dilation: 2 });
    expectTypeOf(dilated).toEqualTypeOf<tg.Tensor<readonly [Bt, 4, 5, 4], "f64">>();
    const pooled = tg.maxPool2d(x, { kernel: 3, stride: 2, padding: "same" });
    expectTypeOf(pooled).toEqualTypeOf<tg.Tensor<readonly [Bt, 2, 5, 4], "f64">>();
    const averaged = tg.avgPool2d(x, { kernel: [3, 2], stride: 1, padding: [[1, 1], [0, 1]] });
    expectTypeOf(averaged).toEqualTypeOf<tg.Tensor<readonly [Bt, 2, 9, 8], "f64">>();
    for (const [t, shape] of [[same, [3, 4, 5, 4]], [explicit, [3, 4, 9, 5]], [dilated, [3, 4, 5, 4]], [pooled, [3, 2, 5, 4]], [averaged, [3, 2, 9, 8]]] as const)
      expect(run(t, feeds).shape).toEqual(shape);
  });

  it("gives the static shapes at run time for every padding mode", () => {
    const cases: [tg.AnyTensor, readonly number[]][] = [
      [tg.conv2d(x, w), [3, 4, 7, 6]],
      [tg.conv2d(x, w, { padding: "same" }), [3, 4, 9, 8]],
      [tg.conv2d(x, w, { padding: "same", stride: 2 }), [3, 4, 5, 4]],
      [tg.conv2d(x, w, { padding: [[2, 0], [1, 3]], stride: [1, 2] }), [3, 4, 9, 5]],
      [tg.conv2d(x, w, { dilation: 2 }), [3, 4, 5, 4]],
      [tg.maxPool2d(x, { kernel: 2 }), [3, 2, 4, 4]],
      [tg.maxPool2d(x, { kernel: 3, stride: 2, padding: "same" }), [3, 2, 5, 4]],
      [tg.avgPool2d(x, { kernel: [3, 2], stride: 1, padding: [[1, 1], [0, 1]] }), [3, 2, 9, 8]],
      [tg.globalAvgPool(x), [3, 2]],
    ];
    for (const [t, shape] of cases) {
      expect(t.node.shape[0]).toBe("batch");
      expect(run(t, feeds).shape).toEqual(shape);
    }
  });

  it("computes the correlation y[b,o,i,j] = Σ x[b,c,i+u,j+v]·w[o,c,u,v] (and padding reads zeros)", () => {
    const y = run(tg.conv2d(x, w, { padding: "same" }), feeds);
    const xv = feeds.x.data;
    const wv = feeds.w.data;
    const at = (b: number, o: number, i: number, j: number): number => {
      let s = 0;
      for (let c = 0; c < 2; c++)
        for (let u = 0; u < 3; u++)
          for (let v = 0; v < 3; v++) {
            const [r, q] = [i + u - 1, j + v - 1];
            if (r >= 0 && r < 9 && q >= 0 && q < 8) s += xv[((b * 2 + c) * 9 + r) * 8 + q]! * wv[((o * 2 + c) * 3 + u) * 3 + v]!;
          }
      return s;
    };
    for (const [b, o, i, j] of [[0, 0, 0, 0], [2, 3, 8, 7], [1, 2, 4, 3]] as const) expect(y.data[((b * 4 + o) * 9 + i) * 8 + j]).toBeCloseTo(at(b, o, i, j), 12);
  });

  it("max pooling ignores padding and global average pooling is the plane mean", () => {
    const neg = tg.input("neg", [1, 1, 2, 2], "f64");
    const pooled = run(tg.maxPool2d(neg, { kernel: 2, stride: 1, padding: [[1, 0], [1, 0]] }), { neg: tg.tensorValue("f64", [1, 1, 2, 2], [-4, -3, -2, -1]) });
    expect(Array.from(pooled.data)).toEqual([-4, -3, -2, -1]);
    const avg = run(tg.avgPool2d(neg, { kernel: 2, stride: 1, padding: [[1, 0], [1, 0]] }), { neg: tg.tensorValue("f64", [1, 1, 2, 2], [-4, -3, -2, -1]) });
    expect(Array.from(avg.data)).toEqual([-4, -3.5, -3, -2.5]);
    const g = run(tg.globalAvgPool(neg), { neg: tg.tensorValue("f64", [1, 1, 2, 2], [-4, -3, -2, -1]) });
    expect(Array.from(g.data)).toEqual([-2.5]);
  });

  it("splits a max-pool gradient evenly among tied maxima", () => {
    const t = tg.input("t", [1, 1, 2, 2], "f64");
    const [dt] = tg.grad(tg.sum(tg.maxPool2d(t, { kernel: 2 })), [t]);
    expect(Array.from(run(dt!, { t: tg.tensorValue("f64", [1, 1, 2, 2], [5, 5, 1, 5]) }).data)).toEqual([1 / 3, 1 / 3, 0, 1 / 3]);
  });

  it("reports mistakes with the op, the user's shapes and this file's line", () => {
    const bad = (f: () => unknown): ShapeError => {
      try {
        f();
      } catch (e) {
        if (e instanceof ShapeError) return e;
        throw e;
      }
      throw new Error("no error");
    };
    const channels = bad(() => tg.conv2d(tg.erase(x), tg.erase(tg.param("w3", [4, 3, 3, 3], "f64"))));
    expect(channels.message).toContain("conv2d: channels differ: input [batch, 2, 9, 8] has 2 channels, the weights [4, 3, 3, 3] take 3");
    expect(channels.message).toContain("test/nn/conv.test.ts:");
    const groups = bad(() => tg.conv2d(tg.erase(x), tg.erase(tg.param("w4", [3, 1, 3, 3], "f64")), { groups: 2 }));
    expect(groups.message).toContain("groups 2 does not divide the 3 output channels (weights [3, 1, 3, 3])");
    const big = bad(() => tg.conv2d(tg.erase(x), tg.erase(tg.param("w5", [4, 2, 10, 3], "f64"))));
    expect(big.message).toContain("kernel 10x3 is larger than the padded input 9x8");
    const window = bad(() => tg.maxPool2d(tg.erase(x), { kernel: 2, padding: [[2, 0], [0, 0]] }));
    expect(window.message).toContain("maxPool2d: pads [2,0,0,0] must be smaller than the kernel [2,2]");
    const symbolic = bad(() => tg.conv2d(tg.input("s", [B, 2, tg.sym("h"), 8], "f64"), w, { padding: "same" }));
    expect(symbolic.message).toContain("padding 'same' needs an NCHW input with concrete height and width, got [batch, 2, h, 8]");
  });

  it("a conv / batch-norm / pool / dense stack has gradients that match finite differences", () => {
    const small = tg.input("small", [2, 1, 5, 5], "f64");
    const k = tg.input("k", [3, 1, 3, 3], "f64");
    const bn = tg.layers.batchNorm.init("bnTest", 3, "f64");
    const h = tg.layers.batchNorm(bn, { training: true })(tg.conv2d(small, k, { padding: "same" })).y;
    const out = tg.sum(tg.square(tg.globalAvgPool(tg.avgPool2d(tg.tanh(h), { kernel: 2, stride: 1 }))));
    const feedsSmall: Record<string, tg.TensorValue> = {
      small: tg.tensorValue("f64", [2, 1, 5, 5], values(50, 3)),
      k: tg.tensorValue("f64", [3, 1, 3, 3], values(27, 4)),
      "bnTest.scale": tg.tensorValue("f64", [3], [1, 0.5, 2]),
      "bnTest.offset": tg.tensorValue("f64", [3], [0.1, -0.2, 0]),
      "bnTest.runningMean": tg.tensorValue("f64", [3], [0, 0, 0]),
      "bnTest.runningVar": tg.tensorValue("f64", [3], [1, 1, 1]),
    };
    const [dk] = tg.grad(out, [k]);
    const symbolic = run(dk!, feedsSmall).data;
    const h0 = 1e-6;
    for (let i = 0; i < 27; i += 4) {
      const shifted = (d: number): number => {
        const data = Float64Array.from(feedsSmall.k!.data);
        data[i]! += d;
        return run(out, { ...feedsSmall, k: { ...feedsSmall.k!, data } }).data[0]!;
      };
      expect(Math.abs(symbolic[i]! - (shifted(h0) - shifted(-h0)) / (2 * h0))).toBeLessThan(1e-6);
    }
  });
});
