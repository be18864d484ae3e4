/**
 * Code generation for fused elementwise groups: one JS loop per group, built as source
 * text once per program and compiled with `new Function`.
 *
 * Takes a `FusedGroup` (see `compiler/passes/fuseElementwise.ts`). `emitFusedLoop` gives
 * the source and how each external input is read, decided from the symbolic shapes so the
 * source holds for every binding: "full" (same element count as the root: index i),
 * "scalar" (one element: read once, before the loop), "rows" (general broadcasting: the
 * loop walks the root's innermost axis for each outer row, with a per-binding table of
 * each row's start in the operand and a stride of 0 or 1 along the row), or "literal"
 * (a one-value constant, inlined). `bindFusedLoop` makes the row tables for concrete
 * shapes. Guarantees: the same values as the reference kernels node by node, bit for
 * bit: each member is computed in double with the same formulas and helpers, and f32
 * intermediates are rounded with Math.fround exactly where the reference would store them.
 */
import { Op, type DType, type RuntimeShape } from "../../src/ops.js";
import type { Node } from "../../src/graph/node.js";
import { symbolicSize } from "../../src/graph/shapes.js";
import type { FusedGroup, FusibleNode, FusibleOp } from "../../compiler/passes/fuseElementwise.js";
import type { TypedArray } from "../value.js";
import { broadcastStrides, offsetTable, sizeOf } from "../kernels/strided.js";
import { erf, gelu, sigmoid, softplus } from "../kernels/scalar.js";

/** How the loop reads one external input. */
export type InputAccess =
  | { readonly kind: "full" }
  | { readonly kind: "scalar" }
  | { readonly kind: "rows"; readonly innerStride: 0 | 1 }
  | { readonly kind: "literal"; readonly value: number };

export interface FusedInput {
  readonly node: Node;
  readonly access: InputAccess;
}

/** The generated loop's signature: `ins` holds the non-literal inputs, in `FusedLoopSource.arrays` order. */
export type FusedLoop = (out: TypedArray, ins: readonly TypedArray[], n: number, rows: number, len: number, tables: readonly Int32Array[]) => void;

export interface FusedLoopSource {
  readonly group: FusedGroup;
  /** Every external input with its access, in `group.inputs` order. */
  readonly inputs: readonly FusedInput[];
  /** The inputs passed as arrays at run time (literals are inlined). */
  readonly arrays: readonly FusedInput[];
  /** Whether the loop walks rows (some input needs general broadcasting). */
  readonly byRows: boolean;
  /** Source of the factory body; `compileFusedLoop` evaluates it once. */
  readonly source: string;
}

/** Scalar helpers the generated code calls: the reference kernels' own functions. */
const HELPERS = { erf, gelu, sigmoid, softplus } as const;

/** An exact JS literal for a double (NaN, infinities and -0 included). */
export const numberLiteral = (v: number): string =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "(-Infinity)" : Object.is(v, -0) ? "(-0)" : v < 0 ? `(${String(v)})` : String(v);

/** The value a typed array of `dtype` stores for `v` (what the reference constant kernel writes). */
const storedValue = (dtype: DType, v: number): number => (dtype === "f32" ? Math.fround(v) : dtype === "i32" ? v | 0 : dtype === "bool" ? (v ? 1 : 0) : v);

const accessOf = (input: Node, rootShape: RuntimeShape): InputAccess => {
  if (input.op === Op.Constant && input.params.values.length === 1) return { kind: "literal", value: storedValue(input.dtype, input.params.values[0]!) };
  const [mine, root] = [symbolicSize(input.shape), symbolicSize(rootShape)];
  if (mine.n === 1 && mine.syms === "") return { kind: "scalar" };
  if (mine.n === root.n && mine.syms === root.syms) return { kind: "full" };
  const last = input.shape[input.shape.length - 1];
  return { kind: "rows", innerStride: last === undefined || last === 1 ? 0 : 1 };
};

type Emit<K extends FusibleOp> = (node: Extract<Node, { op: K }>, a: readonly string[]) => string;
const call =
  <K extends FusibleOp>(f: string): Emit<K> =>
  (_n, a) =>
    `${f}(${a[0]})`;
const infix =
  <K extends FusibleOp>(op: string): Emit<K> =>
  (_n, a) =>
    `(${a[0]} ${op} ${a[1]})`;
const test =
  <K extends FusibleOp>(op: string): Emit<K> =>
  (_n, a) =>
    `(${a[0]} ${op} ${a[1]} ? 1 : 0)`;

/** The expression of each op over argument expressions (simple names, so they may repeat). */
const EXPRESSIONS: { readonly [K in FusibleOp]: Emit<K> } = {
  neg: (_n, a) => `(-${a[0]})`,
  abs: call("Math.abs"),
  sign: call("Math.sign"),
  exp: call("Math.exp"),
  log: call("Math.log"),
  sqrt: call("Math.sqrt"),
  square: (_n, a) => `(${a[0]} * ${a[0]})`,
  tanh: call("Math.tanh"),
  sigmoid: call("sigmoid"),
  relu: (_n, a) => `(${a[0]} > 0 ? ${a[0]} : ${a[0]} === ${a[0]} ? 0 : ${a[0]})`,
  gelu: call("gelu"),
  softplus: call("softplus"),
  sin: call("Math.sin"),
  cos: call("Math.cos"),
  erf: call("erf"),
  add: infix("+"),
  sub: infix("-"),
  mul: infix("*"),
  div: infix("/"),
  pow: (_n, a) => `Math.pow(${a[0]}, ${a[1]})`,
  maximum: (_n, a) => `Math.max(${a[0]}, ${a[1]})`,
  minimum: (_n, a) => `Math.min(${a[0]}, ${a[1]})`,
  mulNoNan: (_n, a) => `(${a[0]} === 0 ? 0 : ${a[0]} * ${a[1]})`,
  less: test("<"),
  lessEqual: test("<="),
  greater: test(">"),
  greaterEqual: test(">="),
  equal: test("==="),
  notEqual: test("!=="),
  where: (_n, a) => `(${a[0]} !== 0 ? ${a[1]} : ${a[2]})`,
  cast: (n, a) => (n.params.dtype === "bool" ? `(${a[0]} !== 0 ? 1 : 0)` : n.params.dtype === "f32" ? `fround(${a[0]})` : `${a[0]}`),
};

const expressionOf = (node: FusibleNode, args: readonly string[]): string => (EXPRESSIONS[node.op] as Emit<FusibleOp>)(node, args);

const identifier = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, "_");

/**
 * The loop source of a fused group.
 * @example emitFusedLoop(plan.groups[0]!).source // "...for (let i = 0; i < n; i++) { const v0 = in0[i]; ... }"
 */
export const emitFusedLoop = (group: FusedGroup): FusedLoopSource => {
  const inputs = group.inputs.map((node) => ({ node, access: accessOf(node, group.root.shape) }));
  const arrays = inputs.filter((i) => i.access.kind !== "literal");
  const byRows = arrays.some((i) => i.access.kind === "rows");
  const names = new Map<Node, string>();
  const head: string[] = [];
  const rowHead: string[] = [];
  const body: string[] = [];
  inputs.forEach((input, k) => {
    const a = input.access;
    if (a.kind === "literal") {
      names.set(input.node, numberLiteral(a.value));
      return;
    }
    const arr = `in${k}`;
    head.push(`const ${arr} = ins[${arrays.indexOf(input)}];`);
    names.set(input.node, `v${k}`);
    if (a.kind === "scalar") head.push(`const v${k} = ${arr}[0];`);
    else if (a.kind === "full") body.push(`const v${k} = ${arr}[i];`);
    else {
      head.push(`const tab${k} = tables[${arrays.indexOf(input)}];`);
      rowHead.push(`const b${k} = tab${k}[r];`);
      if (a.innerStride === 0) rowHead.push(`const v${k} = ${arr}[b${k}];`);
      else body.push(`const v${k} = ${arr}[b${k} + j];`);
    }
  });
  group.members.forEach((m, t) => {
    const expr = expressionOf(m, m.inputs.map((i) => names.get(i)!));
    if (m === group.root) body.push(`out[i] = ${expr};`);
    else {
      names.set(m, `t${t}`);
      body.push(`const t${t} = ${m.dtype === "f32" ? `fround(${expr})` : expr};`);
    }
  });
  const fn = identifier(`fused_${group.members.map((m) => m.op).join("_")}`).slice(0, 60);
  const loop = byRows
    ? ["let i = 0;", "for (let r = 0; r < rows; r++) {", ...rowHead.map((l) => `  ${l}`), "  for (let j = 0; j < len; j++, i++) {", ...body.map((l) => `    ${l}`), "  }", "}"]
    : ["for (let i = 0; i < n; i++) {", ...body.map((l) => `  ${l}`), "}"];
  const source = [
    '"use strict";',
    "const fround = Math.fround;",
    "const { erf, gelu, sigmoid, softplus } = helpers;",
    `return function ${fn}(out, ins, n, rows, len, tables) {`,
    ...head.map((l) => `  ${l}`),
    ...loop.map((l) => `  ${l}`),
    "};",
  ].join("\n");
  return { group, inputs, arrays, byRows, source };
};

/**
 * Compiles emitted source into a loop (once per program; `new Function` is the only eval).
 * @example const loop = compileFusedLoop(emitFusedLoop(group));
 */
export const compileFusedLoop = (emitted: FusedLoopSource): FusedLoop =>
  (new Function("helpers", emitted.source) as (helpers: typeof HELPERS) => FusedLoop)(HELPERS);

/** A fused loop bound to concrete shapes: `run(out, ins)` computes the root into `out`. */
export interface BoundFusedLoop {
  readonly size: number;
  readonly run: (out: TypedArray, ins: readonly TypedArray[]) => void;
}

/**
 * Binds a compiled loop to the concrete root shape and input shapes (parallel to `emitted.arrays`).
 * @example bindFusedLoop(emitted, loop, [128, 256], [[128, 256], [256]]).run(out, [h, b]);
 */
export const bindFusedLoop = (emitted: FusedLoopSource, loop: FusedLoop, rootShape: readonly number[], inputShapes: readonly (readonly number[])[]): BoundFusedLoop => {
  const size = sizeOf(rootShape);
  const len = rootShape.length === 0 ? 1 : rootShape[rootShape.length - 1]!;
  const rows = len === 0 ? 0 : size / len;
  const outer = rootShape.slice(0, -1);
  const tables = emitted.arrays.map((input, k) =>
    input.access.kind === "rows" ? offsetTable(outer, broadcastStrides(inputShapes[k]!, rootShape).slice(0, -1)) : new Int32Array(0),
  );
  return {
    size,
    run: (out, ins) => {
      if (size > 0) loop(out, ins, size, rows, len, tables);
    },
  };
};
