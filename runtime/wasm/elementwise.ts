/**
 * Fused elementwise groups as WebAssembly SIMD functions (f32, four lanes per step).
 *
 * Takes the fused loops a program's schedule emitted (`runtime/codegen/elementwise.ts`:
 * the group, how each external input is read, the row tables for general broadcasting).
 * `wasmFusible` says whether a group can run here: an f32 or bool root; f32 or bool
 * members and external inputs (bools are bytes of 0/1 in memory and lane masks inside the
 * loop: loaded four bytes at a time and widened, stored narrowed back to bytes); no op
 * without a vector form (sin, cos, pow). `compileWasmFused` emits one module holding a
 * function per supported group; `bindWasmFused` fixes a function to concrete shapes
 * (row tables copied into the heap). Guarantees: the same access rules as the JS loop, so
 * each output element reads the same input elements; + - * / sqrt, min/max, comparisons,
 * where, relu, abs, neg, square, sign, mulNoNan and casts give the same f32 values as the
 * reference kernels (correctly rounded either way); exp, log, tanh, sigmoid, softplus,
 * erf and gelu are within the error bounds of `vmath.ts`.
 */
import type { Node } from "../../src/graph/node.js";
import type { FusibleNode, FusibleOp } from "../../compiler/passes/fuseElementwise.js";
import type { FusedLoopSource } from "../codegen/elementwise.js";
import { broadcastStrides, offsetTable, sizeOf } from "../kernels/strided.js";
import { Code, encodeModule, Locals, ValType, type FunctionDef } from "./encoder.js";
import { webAssembly, type WasmModule } from "./api.js";
import type { WasmContext } from "./context.js";
import { evenCuts, MAX_POOL_ARGS, type ThreadPool } from "../threads/pool.js";
import { bytesPerElement } from "../value.js";
import { VectorBuilder, verf, vexp, vgelu, vlog, vsigmoid, vsoftplus, vtanh, type V } from "./vmath.js";

type Emit<K extends FusibleOp> = (v: VectorBuilder, node: Extract<Node, { op: K }>, args: readonly V[]) => V;

const unary =
  <K extends FusibleOp>(f: (v: VectorBuilder, x: V) => V): Emit<K> =>
  (v, _n, a) =>
    f(v, a[0]!);
const simd2 =
  <K extends FusibleOp>(name: Parameters<VectorBuilder["op2"]>[0]): Emit<K> =>
  (v, _n, a) =>
    v.op2(name, a[0]!, a[1]!);
/** A comparison: f32 lanes compare as floats; bool masks (equal/notEqual only) as integers. */
const compare =
  <K extends FusibleOp>(float: Parameters<VectorBuilder["op2"]>[0], mask?: Parameters<VectorBuilder["op2"]>[0]): Emit<K> =>
  (v, n, a) =>
    v.op2((n as Node).inputs[0]!.dtype === "bool" && mask !== undefined ? mask : float, a[0]!, a[1]!);

/** Each op's vector form; null where there is none (the group then runs as a JavaScript loop). */
const VECTOR_FORMS: { readonly [K in FusibleOp]: Emit<K> | null } = {
  neg: unary((v, x) => v.op1("f32x4Neg", x)),
  abs: unary((v, x) => v.op1("f32x4Abs", x)),
  sign: unary((v, x) => {
    const signs = v.op2("v128Or", v.op2("v128And", v.op2("f32x4Gt", x, v.const(0)), v.const(1)), v.op2("v128And", v.op2("f32x4Lt", x, v.const(0)), v.const(-1)));
    // NaN and ±0 are their own sign.
    return v.select(v.op2("v128Or", v.isNaN(x), v.op2("f32x4Eq", x, v.const(0))), x, signs);
  }),
  exp: unary(vexp),
  log: unary(vlog),
  sqrt: unary((v, x) => v.op1("f32x4Sqrt", x)),
  square: unary((v, x) => v.mul(x, x)),
  tanh: unary(vtanh),
  sigmoid: unary(vsigmoid),
  relu: unary((v, x) => v.op2("f32x4Max", x, v.const(0))),
  gelu: unary(vgelu),
  softplus: unary(vsoftplus),
  sin: null,
  cos: null,
  erf: unary(verf),
  add: simd2("f32x4Add"),
  sub: simd2("f32x4Sub"),
  mul: simd2("f32x4Mul"),
  div: simd2("f32x4Div"),
  pow: null,
  maximum: simd2("f32x4Max"),
  minimum: simd2("f32x4Min"),
  mulNoNan: (v, _n, a) => v.op2("v128AndNot", v.mul(a[0]!, a[1]!), v.op2("f32x4Eq", a[0]!, v.const(0))),
  less: compare("f32x4Lt"),
  lessEqual: compare("f32x4Le"),
  greater: compare("f32x4Gt"),
  greaterEqual: compare("f32x4Ge"),
  equal: compare("f32x4Eq", "i32x4Eq"),
  notEqual: compare("f32x4Ne", "i32x4Ne"),
  where: (v, _n, a) => v.select(a[0]!, a[1]!, a[2]!),
  cast: (v, n, a) => {
    const from = n.inputs[0]!.dtype;
    if (n.params.dtype === "bool") return from === "bool" ? a[0]! : v.op2("f32x4Ne", a[0]!, v.const(0));
    return from === "bool" ? v.op2("v128And", a[0]!, v.const(1)) : a[0]!;
  },
};

const ORDERED_COMPARES: ReadonlySet<string> = new Set(["less", "lessEqual", "greater", "greaterEqual"]);

/**
 * Whether a fused group can run as a wasm SIMD function (see the file header).
 * @example wasmFusible(emitFusedLoop(group)) // true for add(matmul, bias) -> tanh in f32
 */
export const wasmFusible = (emitted: FusedLoopSource): boolean => {
  const { group } = emitted;
  if (group.root.dtype !== "f32" && group.root.dtype !== "bool") return false;
  const members = new Set<Node>(group.members);
  for (const m of group.members) {
    if (m.dtype !== "f32" && m.dtype !== "bool") return false;
    if (VECTOR_FORMS[m.op] === null) return false;
    if (m.inputs.some((i) => i.dtype !== "f32" && i.dtype !== "bool")) return false;
    if (ORDERED_COMPARES.has(m.op) && m.inputs.some((i) => i.dtype !== "f32")) return false;
  }
  return emitted.inputs.every((input) => (input.node.dtype === "f32" || input.node.dtype === "bool") && !members.has(input.node));
};

/** How one step of the loop reads its inputs: whole vectors, or one element splat across the lanes (the tail). */
type Width = "vector" | "tail";

/**
 * One fused group's function: f(out, n, len, ...arrays, ...rowTables), all byte
 * addresses but the counts (n elements, rows of len); arrays in `emitted.arrays` order, a row table (i32 element
 * offsets per row) for each array read by rows.
 */
const fusedFunction = (emitted: FusedLoopSource, exportName: string): FunctionDef => {
  const { i32, v128 } = ValType;
  const arrays = emitted.arrays;
  const tableOf = new Map<number, number>();
  arrays.forEach((a, k) => {
    if (a.access.kind === "rows") tableOf.set(k, 3 + arrays.length + tableOf.size);
  });
  const L = new Locals([i32, i32, i32, ...arrays.map(() => i32), ...[...tableOf].map(() => i32)]);
  const [out, n, len] = [0, 1, 2];
  const ptr = (k: number): number => 3 + k;
  const { r, i, end, rowEnd } = L.named(i32, ["r", "i", "end", "rowEnd"]);
  const rowBase = arrays.map(() => L.add(i32));
  const splat = arrays.map(() => L.add(v128));
  const c = new Code();
  const v = new VectorBuilder(c, L);

  /** The group's value for the elements at byte offset `i` (row base pointers already set). */
  const compute = (width: Width): V => {
    const values = new Map<Node, V>();
    emitted.inputs.forEach((input) => {
      const a = input.access;
      if (a.kind === "literal") {
        values.set(input.node, input.node.dtype === "bool" ? v.constI32(a.value !== 0 ? -1 : 0) : v.const(a.value));
        return;
      }
      const k = arrays.indexOf(input);
      if (a.kind === "scalar" || (a.kind === "rows" && a.innerStride === 0)) {
        values.set(input.node, splat[k]!);
        return;
      }
      const t = L.add(v128);
      const bool = input.node.dtype === "bool";
      // The element offset of i (a byte offset into the f32-sized loop), in this array's bytes.
      const scaled = (): void => void (bool && c.i32(2).op("i32ShrU"));
      if (a.kind === "full") c.get(ptr(k)).get(i);
      else c.get(rowBase[k]!).get(i).get(r).op("i32Sub");
      scaled();
      c.op("i32Add");
      if (!bool) c.simdMem(width === "vector" ? "v128Load" : "v128Load32Splat");
      else {
        if (width === "vector") c.simdMem("v128Load32Zero").simd("i16x8ExtendLowI8x16U").simd("i32x4ExtendLowI16x8U");
        else c.mem("i32Load8U").simd("i32x4Splat");
        c.i32x4(0).simd("i32x4Ne");
      }
      c.set(t);
      values.set(input.node, t);
    });
    for (const m of emitted.group.members) {
      const emit = VECTOR_FORMS[m.op] as Emit<FusibleOp>;
      values.set(m, emit(v, m as FusibleNode, m.inputs.map((x) => values.get(x)!)));
    }
    return values.get(emitted.group.root)!;
  };

  const boolRoot = emitted.group.root.dtype === "bool";
  const narrowed = boolRoot ? L.add(v128) : -1;
  /** for (; i < limit; i += step) out[i] = group(i). */
  const loop = (limit: number, width: Width): void => {
    c.block().loop().get(i).get(limit).op("i32GeU").brIf(1);
    const result = compute(width);
    if (!boolRoot) {
      c.get(out).get(i).op("i32Add");
      if (width === "vector") c.get(result).simdMem("v128Store");
      else c.get(result).lane("f32x4ExtractLane", 0).mem("f32Store");
    } else {
      // Masks (-1/0 lanes) to bytes of 0/1 at out + element index.
      c.get(out).get(i).i32(2).op("i32ShrU").op("i32Add");
      if (width === "vector") {
        c.get(result).get(result).simd("i16x8NarrowI32x4S").set(narrowed);
        c.get(narrowed).get(narrowed).simd("i8x16NarrowI16x8S").lane("i32x4ExtractLane", 0).i32(0x01010101).op("i32And").mem("i32Store");
      } else c.get(result).lane("i32x4ExtractLane", 0).i32(1).op("i32And").mem("i32Store8");
    }
    c.get(i).i32(width === "vector" ? 16 : 4).op("i32Add").set(i).br(0).end().end();
  };

  /** Splats the value at the address on the stack into `splat[k]` (a mask for bools). */
  const splatFrom = (k: number): void => {
    if (arrays[k]!.node.dtype === "bool") c.mem("i32Load8U").simd("i32x4Splat").i32x4(0).simd("i32x4Ne").set(splat[k]!);
    else c.mem("f32Load").simd("f32x4Splat").set(splat[k]!);
  };
  arrays.forEach((a, k) => {
    if (a.access.kind !== "scalar") return;
    c.get(ptr(k));
    splatFrom(k);
  });
  c.i32(0).set(i);
  if (!emitted.byRows) {
    // Vector body over whole groups of four, then the last 0-3 elements one at a time.
    c.get(n).i32(-4).op("i32And").i32(4).op("i32Mul").set(end);
    loop(end, "vector");
    c.get(n).i32(4).op("i32Mul").set(end);
    loop(end, "tail");
  } else {
    // Row r covers bytes [r·len·4, (r+1)·len·4) of the output; `r` holds that row's start while in the row.
    c.i32(0).set(r).i32(0).set(rowEnd);
    c.block().loop().get(rowEnd).get(n).i32(4).op("i32Mul").op("i32GeU").brIf(1);
    c.get(i).set(r);
    c.get(i).get(len).i32(4).op("i32Mul").op("i32Add").set(rowEnd);
    arrays.forEach((a, k) => {
      if (a.access.kind !== "rows") return;
      // Element offset of this row in the operand: table[row index], row index = r / (4·len).
      c.get(ptr(k)).get(tableOf.get(k)!).get(r).get(len).i32(4).op("i32Mul").op("i32DivU").i32(4).op("i32Mul").op("i32Add").mem("i32Load");
      if (a.node.dtype !== "bool") c.i32(4).op("i32Mul");
      c.op("i32Add");
      if (a.access.innerStride === 0) splatFrom(k);
      else c.set(rowBase[k]!);
    });
    c.get(len).i32(-4).op("i32And").i32(4).op("i32Mul").get(r).op("i32Add").set(end);
    loop(end, "vector");
    loop(rowEnd, "tail");
    c.br(0).end().end();
  }
  c.end();
  return { exportName, params: L.params, results: [], locals: L.locals, body: c };
};

/** A program's fused groups compiled to one module; `exportNames[i]` is group i's function, or undefined if it stays in JS. */
export interface WasmFusedModule {
  readonly module: WasmModule;
  readonly exportNames: readonly (string | undefined)[];
}

/**
 * Compiles the supported groups of `loops` into one module (undefined if none is supported).
 * @example const fused = compileWasmFused(schedule.steps.flatMap((s) => (s.kind === "fused" ? [s.emitted] : [])));
 */
export const compileWasmFused = (loops: readonly FusedLoopSource[], shared: boolean): WasmFusedModule | undefined => {
  const exportNames = loops.map((l, k) => (wasmFusible(l) ? `fused${k}` : undefined));
  const functions = loops.flatMap((l, k) => (exportNames[k] === undefined ? [] : [fusedFunction(l, exportNames[k]!)]));
  if (functions.length === 0) return undefined;
  const bytes = encodeModule({ memory: { module: "env", name: "memory", minPages: 1, maxPages: 65536, shared }, functions });
  return { module: new (webAssembly()!.Module)(bytes), exportNames };
};

type FusedFunction = (...args: number[]) => void;
const instances = new WeakMap<WasmContext, WeakMap<WasmModule, Readonly<Record<string, unknown>>>>();

/** The module's exports on `ctx`'s memory (instantiated once per context). */
const exportsOn = (ctx: WasmContext, module: WasmModule): Readonly<Record<string, unknown>> => {
  let byModule = instances.get(ctx);
  if (byModule === undefined) instances.set(ctx, (byModule = new WeakMap()));
  let exports = byModule.get(module);
  if (exports === undefined) {
    exports = new (webAssembly()!.Instance)(module, { env: { memory: ctx.heap.memory } }).exports;
    byModule.set(module, exports);
  }
  return exports;
};

/** A fused function bound to concrete shapes: `run(out, inputs)` with heap byte addresses (inputs in `emitted.arrays` order). */
export interface BoundWasmFused {
  run(out: number, inputs: readonly number[]): void;
  /** Frees the row tables. */
  free(): void;
}

/**
 * Elements of a group below which it runs on the calling thread alone: splitting costs a
 * dispatch (about a microsecond to a spinning worker, tens to a sleeping one), which the
 * cheapest groups (an add, about 0.5 ns an element) only earn back from here on.
 */
export const FUSED_SPLIT_ELEMENTS = 16384;

/** Where a bound group may split its work: the pool, and how many threads to use. */
export interface FusedThreads {
  readonly pool: ThreadPool;
  readonly threads: number;
}

/**
 * Binds group `index` of a compiled module to concrete shapes (parallel to `emitted.arrays`).
 * With `threads` (and at least `FUSED_SPLIT_ELEMENTS` elements) the output is cut into one
 * contiguous range per thread (whole rows for groups read by rows, whole vectors
 * otherwise), each range run by the same function on shifted addresses: every element is
 * computed by the same instructions as on one thread, so results do not depend on the split.
 * @example bindWasmFused(ctx, fused, 0, emitted, [128, 256], [[128, 256], [256]]).run(outAt, [hAt, bAt]);
 */
export const bindWasmFused = (
  ctx: WasmContext,
  compiled: WasmFusedModule,
  index: number,
  emitted: FusedLoopSource,
  rootShape: readonly number[],
  inputShapes: readonly (readonly number[])[],
  threading?: FusedThreads,
): BoundWasmFused => {
  const fn = exportsOn(ctx, compiled.module)[compiled.exportNames[index]!] as FusedFunction;
  const size = sizeOf(rootShape);
  const len = rootShape.length === 0 ? 1 : rootShape[rootShape.length - 1]!;
  const outer = rootShape.slice(0, -1);
  const tables = emitted.arrays.flatMap((input, k) => (input.access.kind === "rows" ? [offsetTable(outer, broadcastStrides(inputShapes[k]!, rootShape).slice(0, -1))] : []));
  const tableBytes = tables.reduce((acc, t) => acc + 4 * Math.max(t.length, 1), 0);
  const block = tables.length === 0 ? undefined : ctx.heap.allocate(tableBytes);
  const tableAt: number[] = [];
  let at = block ?? 0;
  for (const t of tables) {
    new Int32Array(ctx.heap.buffer, at, t.length).set(t);
    tableAt.push(at);
    at += 4 * Math.max(t.length, 1);
  }
  const arity = 3 + emitted.arrays.length + tables.length;
  const args = new Array<number>(arity).fill(0);
  args[1] = size;
  args[2] = len;
  tableAt.forEach((t, j) => (args[3 + emitted.arrays.length + j] = t));
  const split = threading === undefined ? undefined : planFusedSplit(compiled, index, emitted, size, len, arity, threading);
  return {
    run(out, inputs) {
      if (size === 0) return;
      args[0] = out;
      for (let k = 0; k < inputs.length; k++) args[3 + k] = inputs[k]!;
      if (split === undefined) fn(...args);
      else split.run(args, fn);
    },
    free() {
      if (block !== undefined) ctx.heap.free(block);
    },
  };
};

/** The parts of a split group, or undefined when it stays on one thread. */
const planFusedSplit = (
  compiled: WasmFusedModule,
  index: number,
  emitted: FusedLoopSource,
  size: number,
  len: number,
  arity: number,
  { pool, threads }: FusedThreads,
): { run(args: readonly number[], fn: FusedFunction): void } | undefined => {
  const count = Math.min(threads, pool.threads);
  if (count < 2 || size < FUSED_SPLIT_ELEMENTS || arity + 1 > MAX_POOL_ARGS) return undefined;
  const names = compiled.exportNames.filter((n): n is string => n !== undefined);
  const fnIndex = pool.load(compiled.module, names) + names.indexOf(compiled.exportNames[index]!);
  // Cut points in elements: whole rows when read by rows, else multiples of 16 elements (one cache line).
  const cuts = evenCuts(size, count, emitted.byRows ? len : 16);
  if (cuts.some((c, t) => t > 0 && c <= cuts[t - 1]!)) return undefined;
  const arrays = emitted.arrays;
  let tableSlot = 0;
  const tableOfArray = arrays.map((a) => (a.access.kind === "rows" ? 3 + arrays.length + tableSlot++ : -1));
  const parts = cuts.slice(0, -1).map(() => new Array<number>(arity + 1).fill(0));
  const rootBytes = bytesPerElement(emitted.group.root.dtype);
  const elementBytes = arrays.map((a) => bytesPerElement(a.node.dtype));
  return {
    run(args, fn) {
      for (let t = 0; t < count; t++) {
        const start = cuts[t]!;
        const part = parts[t]!;
        part[0] = fnIndex;
        for (let a = 0; a < arity; a++) part[a + 1] = args[a]!;
        part[1] = args[0]! + rootBytes * start;
        part[2] = cuts[t + 1]! - start;
        for (let k = 0; k < arrays.length; k++) {
          const kind = arrays[k]!.access.kind;
          if (kind === "full") part[4 + k] = args[3 + k]! + elementBytes[k]! * start;
          else if (kind === "rows") part[1 + tableOfArray[k]!] = args[tableOfArray[k]!]! + 4 * (start / len);
        }
      }
      pool.run(parts, (p) => fn(...p.slice(1)));
    },
  };
};
