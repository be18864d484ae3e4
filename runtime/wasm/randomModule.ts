/**
 * `random_uniform(out, start, count, a, b)` for the generated GEMM module: the counter-based
 * generator of `runtime/kernels/random.ts` in f64x2 lanes.
 *
 * Writes f32 `out[0, count)` (a byte address) with the values of element indices
 * `start, ..., start + count - 1` for round keys (a, b) (residues below 2^26, from
 * `roundKeys`). Guarantees: bit-identical to `randomAt`: the same IEEE double operations
 * in the same order (products below 2^53 are exact; `v mod P` as `v - floor(v / P)·P` with
 * the reciprocal and one correction, exactly as `modP`); no fused multiply-add; the final
 * `(x mod 2^24) / 2^24` is exact in doubles and in f32. Four elements per step (two f64x2
 * computations narrowed into one f32x4 store), the last 0-3 one lane at a time.
 */
import { RANDOM_MODULUS, RANDOM_RESOLUTION, RANDOM_ROUND_CONSTANTS } from "../kernels/random.js";
import { Code, Locals, ValType, type FunctionDef } from "./encoder.js";

const { i32, v128 } = ValType;
const P = RANDOM_MODULUS;
const C3 = RANDOM_ROUND_CONSTANTS[3];

/**
 * The module function (see the file header).
 * @example functions.push(randomUniformFunction());
 */
export const randomUniformFunction = (): FunctionDef => {
  const L = new Locals([i32, i32, i32, i32, i32]);
  const [out, start, count, aArg, bArg] = [0, 1, 2, 3, 4];
  const [end, at] = [L.add(i32), L.add(i32)];
  const vector = (): number => L.add(v128);
  const [a, b, c3, p, invP, zero, invRes, n, x, r, lo] = [vector(), vector(), vector(), vector(), vector(), vector(), vector(), vector(), vector(), vector(), vector()];
  const c = new Code();

  /** Leaves modP(value of local `v`) on the stack: r = v - floor(v·(1/P))·P, + P if r < 0, - P if r ≥ P. */
  const modP = (v: number): void => {
    c.get(v).get(v).get(invP).simd("f64x2Mul").simd("f64x2Floor").get(p).simd("f64x2Mul").simd("f64x2Sub").set(r);
    c.get(r);
    c.get(r).get(zero).simd("f64x2Lt").get(p).simd("v128And").simd("f64x2Add");
    c.get(r).get(p).simd("f64x2Ge").get(p).simd("v128And").simd("f64x2Sub");
  };
  /** x = (modP(x·x)·x + key) mod P. */
  const round = (key: number): void => {
    // lo = x·x (exact), then modP(lo)·x + key, then modP of that.
    c.get(x).get(x).simd("f64x2Mul").set(lo);
    modP(lo);
    c.get(x).simd("f64x2Mul").get(key).simd("f64x2Add").set(lo);
    modP(lo);
    c.set(x);
  };
  /** The f32 values of the two element indices in local `n` (f64 lanes), as the low half of an f32x4 on the stack. */
  const values = (): void => {
    c.get(n).get(a).simd("f64x2Add").set(lo);
    modP(lo);
    c.set(x);
    round(b);
    round(a);
    round(c3);
    // (x mod 2^24) / 2^24 = x/2^24 - floor(x/2^24), exact for x < 2^26.
    c.get(x).get(invRes).simd("f64x2Mul").set(lo);
    c.get(lo).get(lo).simd("f64x2Floor").simd("f64x2Sub").simd("f32x4DemoteF64x2Zero");
  };
  const splatF64 = (local: number, value: number): void => void c.f64x2(value).set(local);
  splatF64(p, P);
  splatF64(invP, 1 / P);
  splatF64(zero, 0);
  splatF64(invRes, 1 / RANDOM_RESOLUTION);
  splatF64(c3, C3);
  c.get(aArg).op("f64ConvertI32S").simd("f64x2Splat").set(a);
  c.get(bArg).op("f64ConvertI32S").simd("f64x2Splat").set(b);
  c.get(out).set(at);
  c.get(out).get(count).i32(-4).op("i32And").i32(4).op("i32Mul").op("i32Add").set(end);
  // n = (start, start + 1) as f64 lanes.
  c.get(start).simd("i32x4Splat").i32x4(0, 1, 0, 0).simd("i32x4Add").simd("f64x2ConvertLowI32x4S").set(n);
  const two = L.add(v128);
  splatF64(two, 2);
  const first = L.add(v128);
  c.block().loop().get(at).get(end).op("i32GeU").brIf(1);
  values();
  c.set(first);
  c.get(n).get(two).simd("f64x2Add").set(n);
  c.get(at).get(first);
  values();
  // [first0, first1, second0, second1]: bytes 0-7 of each operand.
  c.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).simdMem("v128Store");
  c.get(n).get(two).simd("f64x2Add").set(n);
  c.get(at).i32(16).op("i32Add").set(at).br(0).end().end();
  // The last 0-3 elements: lane 0 of the pair (n, n + 1), then n advances by one.
  c.get(out).get(count).i32(4).op("i32Mul").op("i32Add").set(end);
  const one = L.add(v128);
  splatF64(one, 1);
  c.block().loop().get(at).get(end).op("i32GeU").brIf(1);
  c.get(at);
  values();
  c.lane("f32x4ExtractLane", 0).mem("f32Store");
  c.get(n).get(one).simd("f64x2Add").set(n);
  c.get(at).i32(4).op("i32Add").set(at).br(0).end().end();
  c.end();
  return { exportName: "random_uniform", params: L.params, results: [], locals: L.locals, body: c };
};
