/**
 * Vectorized transcendental functions against Math.* (and the reference kernels' erf,
 * gelu, sigmoid, softplus), in units in the last place of the f32 result, over dense
 * sweeps of wide ranges, random bit patterns, and the extremes: ±0, ±infinity, NaN,
 * denormals, the largest floats, and the overflow/underflow thresholds.
 */
import { describe, expect, it } from "vitest";
import { Code, encodeModule, Locals, ValType } from "../../runtime/wasm/encoder.js";
import { webAssembly } from "../../runtime/wasm/api.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { VectorBuilder, verf, vexp, vgelu, vlog, vlog1p, vsigmoid, vsoftplus, vtanh, type V } from "../../runtime/wasm/vmath.js";
import { erf, gelu, sigmoid, softplus } from "../../runtime/kernels/scalar.js";

const wasm = webAssembly()!;
const { i32, v128 } = ValType;

/** Applies `fn` to `xs` four lanes at a time in a generated module. */
const vectorized = (fn: (v: VectorBuilder, x: V) => V): ((xs: Float32Array) => Float32Array) => {
  const L = new Locals([i32, i32, i32]);
  const [src, dst, end] = [0, 1, 2];
  const x = L.add(v128);
  const c = new Code();
  const v = new VectorBuilder(c, L);
  c.block().loop().get(src).get(end).op("i32GeU").brIf(1);
  c.get(src).simdMem("v128Load").set(x);
  const y = fn(v, x);
  c.get(dst).get(y).simdMem("v128Store");
  c.get(src).i32(16).op("i32Add").set(src).get(dst).i32(16).op("i32Add").set(dst).br(0).end().end().end();
  const bytes = encodeModule({
    memory: { module: "env", name: "memory", minPages: 1, maxPages: 256, shared: false },
    functions: [{ exportName: "apply", params: L.params, results: [], locals: L.locals, body: c }],
  });
  const memory = new wasm.Memory({ initial: 64, maximum: 256 });
  const apply = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports.apply as (s: number, d: number, e: number) => void;
  return (xs) => {
    const n = Math.ceil(xs.length / 4) * 4;
    if (8 * n > 64 * 65536) throw new RangeError("too many inputs for the test harness");
    new Float32Array(memory.buffer, 0, xs.length).set(xs);
    apply(0, 4 * n, 4 * n);
    return new Float32Array(memory.buffer, 4 * n, xs.length).slice();
  };
};

/** Distance in f32 units in the last place (ulp of the exact value; 0 when both are NaN or equal). */
const ulps = (got: number, exact: number): number => {
  if (Number.isNaN(exact) || Number.isNaN(got)) return Number.isNaN(exact) && Number.isNaN(got) ? 0 : Infinity;
  if (got === exact) return 0;
  const rounded = Math.fround(exact);
  if (!Number.isFinite(rounded)) return Number.isFinite(got) ? Infinity : got === rounded ? 0 : Infinity;
  const a = Math.abs(rounded) || 2 ** -149;
  const ulp = a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
  return Math.abs(got - exact) / ulp;
};

const sweep = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
/** Random f32 bit patterns (every exponent), deterministic. */
const randomBits = (n: number): number[] => {
  const out = new Int32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s;
  }
  return [...new Float32Array(out.buffer)];
};
const EXTREMES = [0, -0, Infinity, -Infinity, Number.NaN, 2 ** -149, -(2 ** -149), 1e-45, 1e-40, -1e-40, 1.17549435e-38, 3.4028235e38, -3.4028235e38, 1e-30, 1, -1];

/** Largest error in ulps over `xs` (NaN inputs must give NaN), and the worst input. */
const worst = (fn: (xs: Float32Array) => Float32Array, exact: (x: number) => number, xs: readonly number[], skip: (x: number, y: number) => boolean = () => false) => {
  const input = Float32Array.from(xs);
  const got = fn(input);
  let max = 0;
  let at = 0;
  input.forEach((x, i) => {
    const want = exact(x);
    if (skip(x, want)) return;
    const e = ulps(got[i]!, want);
    if (e > max) [max, at] = [e, x];
  });
  return { max, at, got: fn(Float32Array.of(at))[0], want: exact(at) };
};

describe.skipIf(!wasmFeatures().simd)("vectorized transcendentals", () => {
  const wide = [...sweep(-120, 120, 200_001), ...sweep(-1, 1, 100_001), ...randomBits(100_000), ...EXTREMES];

  it("exp: within 2 ulp everywhere, exact limits", () => {
    const r = worst(vectorized(vexp), Math.exp, wide);
    expect(r.max, JSON.stringify(r)).toBeLessThanOrEqual(2);
    expect([...vectorized(vexp)(Float32Array.of(-Infinity, Infinity, 89, 88.7, -103.98, -104, 0, -0))]).toEqual([0, Infinity, Infinity, Math.fround(Math.exp(Math.fround(88.7))), expect.any(Number), 0, 1, 1]);
  });

  it("log: within 2 ulp for every positive float (denormals included), -inf at 0, NaN below", () => {
    const positive = [...sweep(1e-6, 10, 200_001), ...randomBits(200_000).map(Math.abs), 2 ** -149, 1e-40, 1.17549435e-38, 3.4028235e38];
    const r = worst(vectorized(vlog), Math.log, positive);
    expect(r.max, JSON.stringify(r)).toBeLessThanOrEqual(2);
    expect([...vectorized(vlog)(Float32Array.of(0, -0, -1, -Infinity, Infinity, Number.NaN))]).toEqual([-Infinity, -Infinity, NaN, NaN, Infinity, NaN]);
  });

  it("log1p: within 3 ulp from -1 to large, exact for tiny arguments", () => {
    const xs = [...sweep(-0.999, 4, 200_001), ...sweep(-1e-6, 1e-6, 10_001), 1e-30, -1e-30, 1e-40, 1e30, 3.4028235e38];
    const r = worst(vectorized(vlog1p), Math.log1p, xs);
    expect(r.max, JSON.stringify(r)).toBeLessThanOrEqual(3);
    expect([...vectorized(vlog1p)(Float32Array.of(-1, Infinity, Number.NaN, 0, -0))]).toEqual([-Infinity, Infinity, NaN, 0, -0]);
  });

  it("tanh: within 3 ulp everywhere, odd, ±1 at the extremes", () => {
    const r = worst(vectorized(vtanh), Math.tanh, wide);
    expect(r.max, JSON.stringify(r)).toBeLessThanOrEqual(3);
    expect([...vectorized(vtanh)(Float32Array.of(Infinity, -Infinity, 1e30, -1e30, -0, Number.NaN))]).toEqual([1, -1, 1, -1, -0, NaN]);
  });

  it("sigmoid and softplus: within 3 ulp of the reference kernels everywhere", () => {
    const s = worst(vectorized(vsigmoid), sigmoid, wide);
    expect(s.max, JSON.stringify(s)).toBeLessThanOrEqual(3);
    const p = worst(vectorized(vsoftplus), softplus, wide);
    expect(p.max, JSON.stringify(p)).toBeLessThanOrEqual(3);
    expect([...vectorized(vsigmoid)(Float32Array.of(Infinity, -Infinity, Number.NaN))]).toEqual([1, 0, NaN]);
    expect([...vectorized(vsoftplus)(Float32Array.of(Infinity, -Infinity, Number.NaN, 3.4028235e38))]).toEqual([Infinity, 0, NaN, Math.fround(3.4028235e38)]);
  });

  it("erf: within 3 ulp everywhere, ±1 beyond 4", () => {
    // (The reference kernel's erf maps NaN to 1; NaN is checked on its own below.)
    const xs = [...sweep(-6, 6, 400_001), ...sweep(-1e-3, 1e-3, 10_001), ...randomBits(100_000), ...EXTREMES].filter((x) => !Number.isNaN(x));
    const r = worst(vectorized(verf), erf, xs);
    expect(r.max, JSON.stringify(r)).toBeLessThanOrEqual(3);
    expect([...vectorized(verf)(Float32Array.of(Infinity, -Infinity, 10, -10, -0, Number.NaN))]).toEqual([1, -1, 1, -1, -0, NaN]);
  });

  it("gelu: within 8 ulp down to x = -9, relative 2e-5 in the far tail, exact limits", () => {
    const near = worst(vectorized(vgelu), gelu, [...sweep(-9, 20, 400_001), ...sweep(-1e-3, 1e-3, 10_001), 1e-30, -1e-30, 1e30]);
    expect(near.max, JSON.stringify(near)).toBeLessThanOrEqual(8);
    const tail = Float32Array.from(sweep(-14, -9, 50_001));
    const got = vectorized(vgelu)(tail);
    tail.forEach((x, i) => {
      const want = gelu(x);
      if (Math.abs(want) > 1e-37) expect(Math.abs(got[i]! - want) / Math.abs(want)).toBeLessThan(2e-5);
      else expect(Math.abs(got[i]!)).toBeLessThan(1e-36);
    });
    // The limits are the reference kernel's (which gives NaN at -infinity: -inf · erfc(inf) = -inf · 0).
    expect([...vectorized(vgelu)(Float32Array.of(Infinity, -Infinity, Number.NaN, -0))]).toEqual([Infinity, -Infinity, Number.NaN, -0].map(gelu));
  });
});
