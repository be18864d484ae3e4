/**
 * The WebAssembly encoder: LEB128 against known encodings, modules the engine validates
 * and runs (locals, loops, memory, calls), and every SIMD arithmetic opcode the kernels
 * use executed lane by lane against the JavaScript operation it stands for (a wrong
 * opcode number computes something else, or fails validation).
 */
import { describe, expect, it } from "vitest";
import { Code, encodeModule, Locals, signedLeb128, unsignedLeb128, ValType, type FunctionDef, type SimdOpcode } from "../../runtime/wasm/encoder.js";
import { webAssembly, type WasmMemory } from "../../runtime/wasm/api.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";

const wasm = webAssembly()!;
const { i32, v128 } = ValType;

const instantiate = (functions: FunctionDef[], memory?: WasmMemory): Readonly<Record<string, unknown>> => {
  const bytes = encodeModule({ functions, ...(memory ? { memory: { module: "env", name: "memory", minPages: 1, maxPages: 4, shared: false } } : {}) });
  expect(wasm.validate(bytes)).toBe(true);
  return new wasm.Instance(new wasm.Module(bytes), memory ? { env: { memory } } : {}).exports;
};

describe("LEB128", () => {
  it("matches known encodings", () => {
    expect(unsignedLeb128(0)).toEqual([0]);
    expect(unsignedLeb128(127)).toEqual([0x7f]);
    expect(unsignedLeb128(128)).toEqual([0x80, 0x01]);
    expect(unsignedLeb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb128(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(signedLeb128(0)).toEqual([0]);
    expect(signedLeb128(63)).toEqual([0x3f]);
    expect(signedLeb128(64)).toEqual([0xc0, 0x00]);
    expect(signedLeb128(-64)).toEqual([0x40]);
    expect(signedLeb128(-65)).toEqual([0xbf, 0x7f]);
    expect(signedLeb128(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(signedLeb128(2 ** 32 - 1)).toEqual([0x7f]);
    expect(signedLeb128(-(2 ** 31))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it("rejects values it cannot encode", () => {
    expect(() => unsignedLeb128(-1)).toThrow(RangeError);
    expect(() => unsignedLeb128(1.5)).toThrow(RangeError);
    expect(() => signedLeb128(2 ** 32)).toThrow(RangeError);
  });

  it("round-trips i32 constants through the engine", () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8193, 2 ** 31 - 1, -(2 ** 31), 123456789];
    const functions = values.map((v, i) => ({ exportName: `c${i}`, params: [], results: [i32], locals: [], body: new Code().i32(v).end() }));
    const exports = instantiate(functions);
    values.forEach((v, i) => expect((exports[`c${i}`] as () => number)()).toBe(v));
  });
});

describe("modules", () => {
  it("runs loops over locals, calls between functions and memory accesses", () => {
    // sum(n) = 0 + 1 + ... + (n - 1), via a helper add(a, b); store(n) writes sum(n) at address 8.
    const add: FunctionDef = { params: [i32, i32], results: [i32], locals: [], body: new Code().get(0).get(1).op("i32Add").end() };
    const L = new Locals([i32]);
    const { i, acc } = L.named(i32, ["i", "acc"]);
    const c = new Code().i32(0).set(i).i32(0).set(acc).block().loop();
    c.get(i).get(0).op("i32GeU").brIf(1).get(acc).get(i).call(0).set(acc).get(i).i32(1).op("i32Add").set(i).br(0).end().end();
    c.get(acc).end();
    const sum: FunctionDef = { exportName: "sum", params: L.params, results: [i32], locals: L.locals, body: c };
    const store: FunctionDef = { exportName: "store", params: [i32], results: [], locals: [], body: new Code().i32(8).get(0).call(1).mem("i32Store").end() };
    const memory = new wasm.Memory({ initial: 1, maximum: 4 });
    const exports = instantiate([add, sum, store], memory);
    expect((exports.sum as (n: number) => number)(100)).toBe(4950);
    (exports.store as (n: number) => void)(10);
    expect(new Int32Array(memory.buffer, 8, 1)[0]).toBe(45);
  });

  it("deduplicates function types and groups locals", () => {
    const f = (name: string): FunctionDef => ({ exportName: name, params: [i32], results: [i32], locals: [i32, i32, v128, i32], body: new Code().get(0).end() });
    const bytes = encodeModule({ functions: [f("a"), f("b")] });
    expect(wasm.validate(bytes)).toBe(true);
    // type section: id 1, size, one entry
    expect([...bytes.slice(8, 11)]).toEqual([1, 6, 1]);
  });

  it("imports a shared memory when asked", () => {
    if (!wasmFeatures().threads) return;
    const memory = new wasm.Memory({ initial: 1, maximum: 2, shared: true });
    const bytes = encodeModule({
      memory: { module: "env", name: "memory", minPages: 1, maxPages: 2, shared: true },
      functions: [{ exportName: "bump", params: [], results: [i32], locals: [], body: new Code().i32(4).i32(5).atomic("i32RmwAdd").end() }],
    });
    const exports = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports;
    (exports.bump as () => number)();
    expect((exports.bump as () => number)()).toBe(5);
    expect(memory.buffer instanceof SharedArrayBuffer).toBe(true);
  });
});

type Lanes = "f32" | "f64" | "i32";
type SimdName = keyof typeof SimdOpcode;
const f = Math.fround;
const mask = (b: boolean): number => (b ? -1 : 0);
const BINARY: [SimdName, Lanes, (a: number, b: number) => number][] = [
  ["f32x4Add", "f32", (a, b) => f(a + b)], ["f32x4Sub", "f32", (a, b) => f(a - b)], ["f32x4Mul", "f32", (a, b) => f(a * b)], ["f32x4Div", "f32", (a, b) => f(a / b)],
  ["f32x4Min", "f32", Math.min], ["f32x4Max", "f32", Math.max], ["f32x4Pmin", "f32", (a, b) => (b < a ? b : a)], ["f32x4Pmax", "f32", (a, b) => (a < b ? b : a)],
  ["f64x2Add", "f64", (a, b) => a + b], ["f64x2Sub", "f64", (a, b) => a - b], ["f64x2Mul", "f64", (a, b) => a * b], ["f64x2Div", "f64", (a, b) => a / b],
  ["f64x2Min", "f64", Math.min], ["f64x2Max", "f64", Math.max],
  ["i32x4Add", "i32", (a, b) => (a + b) | 0], ["i32x4Sub", "i32", (a, b) => (a - b) | 0], ["i32x4Mul", "i32", (a, b) => Math.imul(a, b)],
  ["i32x4Eq", "i32", (a, b) => mask(a === b)], ["i32x4Ne", "i32", (a, b) => mask(a !== b)], ["i32x4LtS", "i32", (a, b) => mask(a < b)], ["i32x4GtS", "i32", (a, b) => mask(a > b)],
  ["v128And", "i32", (a, b) => a & b], ["v128Or", "i32", (a, b) => a | b], ["v128Xor", "i32", (a, b) => a ^ b], ["v128AndNot", "i32", (a, b) => a & ~b],
];
const COMPARE: [SimdName, Lanes, (a: number, b: number) => boolean][] = [
  ["f32x4Eq", "f32", (a, b) => a === b], ["f32x4Ne", "f32", (a, b) => a !== b], ["f32x4Lt", "f32", (a, b) => a < b], ["f32x4Gt", "f32", (a, b) => a > b],
  ["f32x4Le", "f32", (a, b) => a <= b], ["f32x4Ge", "f32", (a, b) => a >= b],
  ["f64x2Eq", "f64", (a, b) => a === b], ["f64x2Ne", "f64", (a, b) => a !== b], ["f64x2Lt", "f64", (a, b) => a < b], ["f64x2Gt", "f64", (a, b) => a > b],
  ["f64x2Le", "f64", (a, b) => a <= b], ["f64x2Ge", "f64", (a, b) => a >= b],
];
const UNARY: [SimdName, Lanes, (a: number) => number][] = [
  ["f32x4Abs", "f32", Math.abs], ["f32x4Neg", "f32", (a) => -a], ["f32x4Sqrt", "f32", (a) => f(Math.sqrt(a))], ["f32x4Ceil", "f32", Math.ceil], ["f32x4Floor", "f32", Math.floor],
  ["f32x4Trunc", "f32", Math.trunc], ["f32x4Nearest", "f32", (a) => { const r = Math.round(a); return Math.abs(a % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; }],
  ["f64x2Abs", "f64", Math.abs], ["f64x2Neg", "f64", (a) => -a], ["f64x2Sqrt", "f64", Math.sqrt],
  ["i32x4TruncSatF32x4S", "f32", (a) => (Number.isNaN(a) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(a))) + 0)],
  ["f32x4ConvertI32x4S", "i32", (a) => f(a)], ["v128Not", "i32", (a) => ~a],
];

const view = (lanes: Lanes, buffer: ArrayBuffer | SharedArrayBuffer, offset: number): Float32Array | Float64Array | Int32Array =>
  lanes === "f32" ? new Float32Array(buffer, offset, 4) : lanes === "f64" ? new Float64Array(buffer, offset, 2) : new Int32Array(buffer, offset, 4);

const INPUTS: Record<Lanes, [number[], number[]]> = {
  f32: [[1.5, -2.25, 0, -0.5], [3, -2.25, Number.NaN, 2.5]],
  f64: [[1.5, -7.125], [-3, 4e-300]],
  i32: [[7, -3, 2 ** 31 - 1, 0x0f0f0f0f], [5, -3, 2, -0x0ff00ff1]],
};
const UNARY_INPUTS: Record<Lanes, number[][]> = {
  f32: [[2.5, -1.5, 0.5, -2.75], [3.5, -0.5, 1e10, -4], [Number.NaN, 6.5, -3e9, 16]],
  f64: [[2.25, -1.5], [0.5, 1e300]],
  i32: [[7, -3, 2 ** 31 - 1, 0x0f0f0f0f]],
};

describe.skipIf(!wasmFeatures().simd)("SIMD opcodes", () => {
  const memory = new wasm.Memory({ initial: 1, maximum: 4 });
  const run = (name: SimdName, arity: 1 | 2, input: [number[], number[]], lanes: Lanes, outLanes: Lanes): number[] => {
    const body = new Code().i32(32).i32(0).simdMem("v128Load");
    if (arity === 2) body.i32(16).simdMem("v128Load");
    body.simd(name).simdMem("v128Store").end();
    const exports = instantiate([{ exportName: "op", params: [], results: [], locals: [], body }], memory);
    view(lanes, memory.buffer, 0).set(input[0]);
    view(lanes, memory.buffer, 16).set(input[1]);
    (exports.op as () => void)();
    return [...view(outLanes, memory.buffer, 32)];
  };
  /** The values as the lanes store them (f32 rounding, i32 wrap-around). */
  const rounded = (lanes: Lanes, xs: number[]): number[] => {
    const v = view(lanes, new ArrayBuffer(16), 0);
    v.set(xs);
    return [...v];
  };

  it.each(BINARY)("%s", (name, lanes, ref) => {
    const [a, b] = INPUTS[lanes].map((xs) => rounded(lanes, xs)) as [number[], number[]];
    expect(run(name, 2, [a, b], lanes, lanes)).toEqual(a.map((x, i) => ref(x, b[i]!)));
  });
  it.each(COMPARE)("%s", (name, lanes, ref) => {
    const [a, b] = INPUTS[lanes].map((xs) => rounded(lanes, xs)) as [number[], number[]];
    const got = run(name, 2, [a, b], lanes, "i32");
    const perLane = lanes === "f64" ? [got[0]!, got[2]!] : got;
    expect(perLane).toEqual(a.map((x, i) => mask(ref(x, b[i]!))));
  });
  it.each(UNARY)("%s", (name, lanes, ref) => {
    const outLanes: Lanes = name === "i32x4TruncSatF32x4S" ? "i32" : name === "f32x4ConvertI32x4S" ? "f32" : lanes;
    for (const xs of UNARY_INPUTS[lanes]) {
      const a = rounded(lanes, xs);
      expect(run(name, 1, [a, a], lanes, outLanes)).toEqual(a.map((x) => ref(x)));
    }
  });

  it("splats, extracts lanes and loads splats", () => {
    const body = new Code().i32(32).f32(2.5).simd("f32x4Splat").i32(4).simdMem("v128Load32Splat").simd("f32x4Mul").simdMem("v128Store");
    body.i32(48).i32(32).simdMem("v128Load").lane("f32x4ExtractLane", 3).mem("f32Store").end();
    const exports = instantiate([{ exportName: "op", params: [], results: [], locals: [], body }], memory);
    new Float32Array(memory.buffer, 0, 4).set([0, 3, 0, 0]);
    (exports.op as () => void)();
    expect([...new Float32Array(memory.buffer, 32, 5)]).toEqual([7.5, 7.5, 7.5, 7.5, 7.5]);
  });

  it.skipIf(!wasmFeatures().relaxedSimd)("relaxed madd computes a·b + c", () => {
    const body = new Code().i32(48).i32(0).simdMem("v128Load").i32(16).simdMem("v128Load").i32(32).simdMem("v128Load").simd("f32x4RelaxedMadd").simdMem("v128Store").end();
    const exports = instantiate([{ exportName: "op", params: [], results: [], locals: [], body }], memory);
    new Float32Array(memory.buffer, 0, 12).set([1, 2, 3, 4, 5, 6, 7, 8, 0.5, -1, 0, 100]);
    (exports.op as () => void)();
    expect([...new Float32Array(memory.buffer, 48, 4)]).toEqual([5.5, 11, 21, 132]);
  });
});
