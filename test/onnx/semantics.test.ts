/**
 * Semantics the mapping must keep beyond the op-spec domains: numerically hard inputs
 * (erf tails, softplus/sigmoid/gelu at large |x|, ±1000 logits), NaN and infinity
 * (reductions and argmax propagate NaN, Math.pow's 1^NaN), integer wrap-around, the
 * documented cast / mulNoNan / oneHot behaviour, scatterAdd with 2-d indices and
 * duplicates, and symbolic dims bound to two different sizes in one session.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { AnyTensor } from "../../src/tensor.js";
import type { DType } from "../../src/ops.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import { exportOnnx } from "../../src/deploy.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { openOrt, runInOrt, runInTypegrad } from "./support.js";

const N = NaN;
const INF = Infinity;

/** Builds `outputs`, runs both engines and expects every output to agree within the dtype's tolerance. */
const expectAgree = async (outputs: Readonly<Record<string, AnyTensor>>, feeds: Readonly<Record<string, TensorValue>>, tolerance: Partial<Record<DType, number>> = {}): Promise<Record<string, TensorValue>> => {
  const graph = tg.buildGraph(outputs, "semantics");
  const [actual, expected] = [await runInOrt(graph, feeds), runInTypegrad(graph, feeds)];
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name]!;
    const c = compareValues(got, want);
    const tol = tolerance[want.dtype] ?? PARITY_TOLERANCE[want.dtype];
    expect(c.maxError, `${name}: element ${c.index}: onnx ${got.data[c.index]} vs typegrad ${want.data[c.index]}`).toBeLessThanOrEqual(tol);
  }
  return expected;
};

/** Relative error of every element (no floor of 1): for tails where the values themselves are tiny. */
const relativeErrors = (a: TensorValue, b: TensorValue): number =>
  Math.max(...Array.from(b.data, (v, i) => (v === a.data[i] ? 0 : Math.abs(a.data[i]! - v) / Math.abs(v))));

const values = (dtype: DType, xs: readonly number[]): TensorValue => tensorValue(dtype, [xs.length], xs);

describe("numerically hard inputs", () => {
  it("erf and gelu in f64 agree to 1e-10 over the whole line, erfc's tail to 1e-12 relative", async () => {
    const xs = [0, 1e-20, -1e-20, 0.46875, -0.46875, 0.47, 1, -2, 3.999, 4, 4.001, 6, -10, 26, 26.6, -27, 40, INF, -INF, N];
    const x = tg.input("x", [xs.length], "f64");
    await expectAgree({ erf: tg.erf(x), gelu: tg.gelu(x) }, { x: values("f64", xs) });
    const tail = Array.from({ length: 33 }, (_, i) => -5 - i);
    const t = tg.input("t", [tail.length], "f64");
    const graph = tg.buildGraph({ gelu: tg.gelu(t) }, "tail");
    const feeds = { t: values("f64", tail) };
    expect(relativeErrors((await runInOrt(graph, feeds)).gelu!, runInTypegrad(graph, feeds).gelu!)).toBeLessThan(1e-12);
  });

  it("softplus, sigmoid and gelu at large |x|, in f32 and f64", async () => {
    const xs = [-1000, -100, -40, -20, -1e-8, 0, 1e-8, 20, 40, 100, 1000];
    for (const dtype of ["f32", "f64"] as const) {
      const x = tg.input("x", [xs.length], dtype);
      const out = await expectAgree({ softplus: tg.softplus(x), sigmoid: tg.sigmoid(x), gelu: tg.gelu(x) }, { x: values(dtype, xs) });
      expect(out.softplus!.data[xs.indexOf(1000)]).toBe(1000);
      const graph = tg.buildGraph({ softplus: tg.softplus(x) }, "softplus");
      const feeds = { x: values(dtype, xs) };
      // log1p stays accurate: softplus(-40) = 4.25e-18 to full relative precision.
      expect(relativeErrors((await runInOrt(graph, feeds)).softplus!, runInTypegrad(graph, feeds).softplus!)).toBeLessThan(dtype === "f64" ? 1e-14 : 1e-6);
    }
  });

  it("logsumexp, softmax and logSoftmax of ±1000 logits", async () => {
    const logits = tensorValue("f32", [2, 3], [1000, 1000, -1000, -1000, 0, 1000]);
    const x = tg.input("x", [2, 3], "f32");
    await expectAgree({ lse: tg.logsumexp(x, 1), sm: tg.softmax(x), lsm: tg.logSoftmax(x), lse0: tg.logsumexp(x, 0, { keepdims: true }) }, { x: logits });
  });
});

describe("NaN, infinity and integer wrap-around", () => {
  it("max/min reductions and argmax propagate NaN as the kernels do; elementwise max/min too", async () => {
    const m = tg.input("m", [3, 3], "f32");
    const a = tg.input("a", [4], "f64");
    const b = tg.input("b", [4], "f64");
    const out = await expectAgree(
      { rmax: tg.max(m, 1), rmin: tg.min(m, 0), amax: tg.argmax(m, 1), maxAll: tg.max(m), max: tg.maximum(a, b), min: tg.minimum(a, b) },
      { m: tensorValue("f32", [3, 3], [1, N, 3, -INF, -INF, -INF, 2, 5, N]), a: values("f64", [N, 1, -0, INF]), b: values("f64", [1, N, 0, 2]) },
    );
    expect(Array.from(out.amax!.data)).toEqual([1, 0, 2]);
  });

  it("pow follows Math.pow: 1^NaN and (-1)^inf are NaN, x^0 is 1", async () => {
    const a = tg.input("a", [7], "f64");
    const b = tg.input("b", [7], "f64");
    await expectAgree({ p: tg.pow(a, b) }, { a: values("f64", [1, -1, 1, N, 0, -8, 2]), b: values("f64", [N, INF, -INF, 0, -1, 1 / 3, 0.5]) });
  });

  it("i32 add, mul, square and sum wrap like int32", async () => {
    const i = tg.input("i", [4], "i32");
    await expectAgree({ add: tg.add(i, i), mul: tg.mul(i, i), square: tg.square(i), sum: tg.sum(i) }, { i: values("i32", [2 ** 30, -(2 ** 31), 2 ** 31 - 1, 46341]) });
  });
});

describe("documented semantics", () => {
  it("cast: float to i32 truncates, saturates and maps NaN to 0; to bool is x != 0; f64 to f32 rounds", async () => {
    const xs = [2.7, -2.7, 1e10, -1e10, N, INF, -INF, 2147483647.5, -0.5, 0];
    const f = tg.input("f", [xs.length], "f32");
    const d = tg.input("d", [xs.length], "f64");
    const i = tg.input("i", [4], "i32");
    const out = await expectAgree(
      { fi: tg.cast(f, "i32"), di: tg.cast(d, "i32"), fb: tg.cast(f, "bool"), df: tg.cast(d, "f32"), ib: tg.cast(i, "bool"), if: tg.cast(i, "f32"), bf: tg.cast(tg.cast(i, "bool"), "f64") },
      { f: values("f32", xs), d: values("f64", xs), i: values("i32", [0, 16777217, -3, 2 ** 31 - 1]) },
    );
    expect(Array.from(out.di!.data)).toEqual([2, -2, 2147483647, -2147483648, 0, 2147483647, -2147483648, 2147483647, 0, 0]);
  });

  it("mulNoNan is 0 where a == 0 even for inf and NaN b", async () => {
    const a = tg.input("a", [5], "f32");
    const b = tg.input("b", [5], "f32");
    const out = await expectAgree({ y: tg.mulNoNan(a, b) }, { a: values("f32", [0, -0, 0, 2, N]), b: values("f32", [INF, N, 1, INF, 0]) });
    expect(Array.from(out.y!.data)).toEqual([0, 0, 0, INF, N]);
  });

  it("oneHot gives a zero row for labels outside [0, depth)", async () => {
    const l = tg.input("l", [5], "i32");
    const out = await expectAgree({ f: tg.oneHot(l, 3, "f32"), b: tg.oneHot(l, 3, "bool"), i: tg.oneHot(l, 3, "i32") }, { l: values("i32", [-1, 0, 2, 3, 1]) });
    expect(Array.from(out.f!.data)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
  });

  it("reductions, squeeze and slice over no axes copy the input", async () => {
    const x = tg.input("x", [2, 3], "f64");
    await expectAgree({ s: tg.sum(x, []), m: tg.max(x, []), mean: tg.mean(x, []) }, { x: tensorValue("f64", [2, 3], [1, N, 3, 4, 5, 6]) });
  });
});

describe("scatterAdd and symbolic dims", () => {
  it("scatterAdd with 2-d indices, duplicates and a symbolic batch dim", async () => {
    const u = tg.input("u", [tg.sym("batch"), 2, 3, 5], "f64");
    const idx = tg.input("idx", [2, 3], "i32");
    const y = tg.scatterAdd(tg.erase(u), tg.erase(idx), 1, [tg.sym("batch"), 4, 5]);
    const session = await openOrt(exportOnnx({ y }));
    for (const batch of [1, 3]) {
      const feeds = {
        u: tensorValue("f64", [batch, 2, 3, 5], Array.from({ length: batch * 30 }, (_, k) => Math.sin(k))),
        idx: tensorValue("i32", [2, 3], [0, 3, 3, 1, 0, 3]),
      };
      const [want] = tg.evaluate([y.node], feeds);
      const got = (await session.run(feeds)).y!;
      expect(compareValues(got, want!).maxError, `batch ${batch}`).toBeLessThanOrEqual(1e-12);
    }
    await session.release();
  });

  it("reshape, broadcastTo and the gather gradient over a symbolic batch, one session at two batch sizes", async () => {
    const batch = tg.sym("batch");
    const x = tg.input("x", [batch, 2, 3], "f32");
    const labels = tg.input("labels", [batch], "i32");
    const W = tg.param("W", [5, 6], "f32");
    const flat = tg.reshape(tg.erase(x), [batch, 6]);
    const rows = tg.gather(tg.erase(W), tg.erase(labels), 0);
    const loss = tg.sum(tg.mul(tg.add(flat, rows), tg.broadcastTo(tg.constant([1, 2, 3, 4, 5, 6], [1, 6], "f32"), [batch, 6])));
    const [dW] = tg.grad(loss, [W]);
    const graph = tg.buildGraph({ loss, dW: dW!, flat }, "symbolic");
    const Wv = tensorValue("f32", [5, 6], Array.from({ length: 30 }, (_, k) => k / 7));
    const session = await openOrt(exportOnnx(graph, { params: { W: Wv } }));
    for (const n of [2, 7]) {
      const feeds = { x: tensorValue("f32", [n, 2, 3], Array.from({ length: n * 6 }, (_, k) => Math.cos(k))), labels: tensorValue("i32", [n], Array.from({ length: n }, (_, k) => (k * 3) % 5)) };
      const want = runInTypegrad(graph, { ...feeds, W: Wv });
      const got = await session.run(feeds);
      for (const name of ["loss", "dW", "flat"]) expect(compareValues(got[name]!, want[name]!).maxError, `${name} at batch ${n}`).toBeLessThanOrEqual(1e-5);
      expect(got.flat!.shape).toEqual([n, 6]);
    }
    await session.release();
  });
});
