/**
 * Random graphs for property tests: a fast-check arbitrary of small DAGs of ops with
 * compatible shapes over float64 leaves.
 *
 * API
 *   randomGraph(options?)      Arbitrary<RandomGraph>: a description (data, printable),
 *                              not tensors. `options.smooth` keeps every op differentiable
 *                              at the generated points (for finite-difference checks);
 *                              `options.constants` (default true) mixes in constant leaves.
 *   buildRandomGraph(rg)       { inputs, outputs }: builds the tensors with the DSL. Inputs
 *                              are `tg.input` leaves parallel to `inputLeaves(rg)`.
 *   inputLeaves(rg)            the fed leaves (name, shape, dtype, value domain).
 *   feedsFor(rg)               Arbitrary<Record<name, TensorValue>> of feeds in the domains, one
 *                              per input leaf. Some leaves may not reach the outputs, and the
 *                              interpreter rejects feeds it does not use: pass the feeds through
 *                              `usedFeeds(feeds, outputs)` first.
 *   usedFeeds(feeds, outputs)  the feeds for the inputs the output nodes depend on.
 *   randomGraphCase(options?)  Arbitrary<{ graph, feeds }>.
 *   describeRandomGraph(rg)    SSA-like text, also used when fast-check prints a counterexample.
 *
 * What graphs contain: f64 input leaves (domains "real", "awayFromZero", "distinct"), f64
 * constant leaves (scalars 0, 1, ... and small tensors), i32 index leaves for gather,
 * shared subexpressions (arguments pick earlier values, recent ones first), exact and
 * commuted repeats of earlier steps, broadcasting binary ops, reductions, reshape /
 * transpose / broadcastTo / expandDims / squeeze / concat / slice / pad / gather, (batched)
 * matmul, softmax / logSoftmax / logsumexp, where with comparison masks, casts, and
 * identity patterns (x*1, x+0, neg(neg x), transpose of transpose, reshape of reshape,
 * broadcast of a scalar, sum over no axes). Conservative value bounds are tracked per
 * value so log/sqrt/pow/div only see arguments away from 0 and exp does not overflow;
 * magnitudes stay below ~100, every tensor has at most 48 elements, and ranks stay at most 4.
 *
 * Smooth mode: kinked ops (relu, abs, sign, maximum, minimum, max/min reductions,
 * comparisons) only take "awayFromZero" / "distinct" leaves, zero constants or values that
 * depend on constants only; stopGradient is left out.
 *
 * Generation interprets a list of integer choices, so fast-check shrinks toward fewer steps
 * and first alternatives (unary ops, the most recent value as argument).
 */
import fc from "fast-check";
import * as tg from "../../src/index.js";
import { Op, type BinaryOp, type CompareOp, type ReduceOp, type UnaryOp } from "../../src/ops.js";
import type { AnyTensor } from "../../src/tensor.js";
import type { Node } from "../../src/graph/node.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import type { Domain } from "./opspec.js";

export type { Domain };

/** A leaf of a random graph: an input to feed (f64 or i32 indices) or an f64 constant. */
export type LeafSpec =
  | { readonly kind: "input"; readonly name: string; readonly shape: readonly number[]; readonly dtype: "f64" | "i32"; readonly domain: Domain }
  | { readonly kind: "constant"; readonly shape: readonly number[]; readonly values: readonly number[] };

/** One op application; numbers are references to earlier entries of `RandomGraph.defs`. */
export type Step =
  | { readonly kind: "unary"; readonly op: UnaryOp; readonly x: number }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly a: number; readonly b: number }
  | { readonly kind: "where"; readonly compare: CompareOp; readonly left: number; readonly right: number; readonly a: number; readonly b: number }
  | { readonly kind: "reduce"; readonly op: ReduceOp; readonly x: number; readonly axes: readonly number[]; readonly keepdims: boolean }
  | { readonly kind: "reshape"; readonly x: number; readonly shape: readonly number[] }
  | { readonly kind: "transpose"; readonly x: number; readonly perm: readonly number[] | undefined }
  | { readonly kind: "broadcastTo"; readonly x: number; readonly shape: readonly number[] }
  | { readonly kind: "expandDims"; readonly x: number; readonly axis: number }
  | { readonly kind: "squeeze"; readonly x: number; readonly axes: readonly number[] | undefined }
  | { readonly kind: "concat"; readonly xs: readonly number[]; readonly axis: number }
  | { readonly kind: "slice"; readonly x: number; readonly ranges: readonly tg.SliceRange[] }
  | { readonly kind: "pad"; readonly x: number; readonly widths: readonly (readonly [number, number])[] }
  | { readonly kind: "gather"; readonly x: number; readonly indices: number; readonly axis: number }
  | { readonly kind: "matmul"; readonly a: number; readonly b: number; readonly transposeA: boolean; readonly transposeB: boolean }
  | { readonly kind: "softmax" | "logSoftmax"; readonly x: number; readonly axis: number }
  | { readonly kind: "cast"; readonly x: number }
  | { readonly kind: "stopGradient"; readonly x: number };

export type Def = { readonly kind: "leaf"; readonly leaf: LeafSpec } | { readonly kind: "step"; readonly step: Step };

export interface RandomGraph {
  /** Leaves and steps in creation order; steps refer to earlier defs by index. */
  readonly defs: readonly Def[];
  /** Indices of the f64 defs returned as outputs (at least one). */
  readonly outputs: readonly number[];
}

export interface RandomGraphOptions {
  /** Upper bound on generation rounds (a round adds 1-3 steps). Default 12. */
  readonly maxSteps?: number;
  /** Most outputs: the last value plus unread values. Default 3. */
  readonly maxOutputs?: number;
  /** Only ops differentiable at the generated points. Default false. */
  readonly smooth?: boolean;
  /** Mix constant leaves in. Default true. */
  readonly constants?: boolean;
  /** Prefix of input names (`x0`, `x1`, ... by default). */
  readonly namePrefix?: string;
}

export type InputLeaf = Extract<LeafSpec, { kind: "input" }>;

const MAX_ELEMENTS = 48;
const MAX_RANK = 4;
const MAX_MAGNITUDE = 100;
const PALETTE = [1, 0, -1, 0.5, 2, -2, 3, 0.25];

interface Info {
  readonly shape: readonly number[];
  readonly dtype: "f64" | "i32";
  readonly lo: number;
  readonly hi: number;
  /** Independent of f64 inputs (only constants and index leaves): never perturbed by finite differences. */
  readonly constant: boolean;
  /** An input leaf with |x| >= 0.2: small perturbations never cross 0. */
  readonly away: boolean;
  /** An input leaf whose elements are pairwise >= 0.05 apart: no ties. */
  readonly distinct: boolean;
  /** For i32 index leaves: the index range size. */
  readonly indexSize?: number;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const broadcast = (a: readonly number[], b: readonly number[]): number[] | undefined => {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = r; i >= 1; i--) {
    const da = a[a.length - i] ?? 1;
    const db = b[b.length - i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
};
const mag = (i: { lo: number; hi: number }): number => Math.max(Math.abs(i.lo), Math.abs(i.hi));
const hull = (xs: readonly { lo: number; hi: number }[]): { lo: number; hi: number } => ({
  lo: Math.min(...xs.map((x) => x.lo)),
  hi: Math.max(...xs.map((x) => x.hi)),
});
const products = (a: Info, b: Info): { lo: number; hi: number } => {
  const c = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
  return { lo: Math.min(...c), hi: Math.max(...c) };
};
const softplusN = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** Consumes integer choices; 0 is always the simplest alternative. */
class Chooser {
  private i = 0;
  constructor(private readonly choices: readonly number[]) {}
  int(n: number): number {
    const c = this.choices[this.i++] ?? 0;
    return n <= 1 ? 0 : c % n;
  }
  bool(): boolean {
    return this.int(2) === 1;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const KINKED_UNARY: readonly UnaryOp[] = [Op.Relu, Op.Abs, Op.Sign];
const UNARY_CHOICES: readonly UnaryOp[] = [Op.Tanh, Op.Neg, Op.Exp, Op.Log, Op.Sqrt, Op.Square, Op.Sigmoid, Op.Gelu, Op.Softplus, Op.Sin, Op.Cos, Op.Erf, Op.Relu, Op.Abs, Op.Sign];
const BINARY_CHOICES: readonly BinaryOp[] = [Op.Add, Op.Mul, Op.Sub, Op.Div, Op.Pow, Op.Maximum, Op.Minimum, Op.MulNoNan];
const COMMUTATIVE: readonly BinaryOp[] = [Op.Add, Op.Mul, Op.Maximum, Op.Minimum];
const COMPARE_CHOICES: readonly CompareOp[] = [Op.Greater, Op.Less, Op.GreaterEqual, Op.LessEqual, Op.Equal, Op.NotEqual];
const REDUCE_CHOICES: readonly ReduceOp[] = [Op.Sum, Op.Mean, Op.LogSumExp, Op.Max, Op.Min];

/** Interval of a unary op's result; undefined when the argument is outside the safe domain. */
const unaryBounds = (op: UnaryOp, x: Info): { lo: number; hi: number } | undefined => {
  const { lo, hi } = x;
  switch (op) {
    case Op.Neg: return { lo: -hi, hi: -lo };
    case Op.Abs: return { lo: lo > 0 ? lo : hi < 0 ? -hi : 0, hi: mag(x) };
    case Op.Sign: return { lo: -1, hi: 1 };
    case Op.Exp: return hi <= 4 ? { lo: Math.exp(lo), hi: Math.exp(hi) } : undefined;
    case Op.Log: return lo >= 0.1 ? { lo: Math.log(lo), hi: Math.log(hi) } : undefined;
    case Op.Sqrt: return lo >= 0.1 ? { lo: Math.sqrt(lo), hi: Math.sqrt(hi) } : undefined;
    case Op.Square: return { lo: lo > 0 ? lo * lo : hi < 0 ? hi * hi : 0, hi: mag(x) ** 2 };
    case Op.Tanh: return { lo: Math.tanh(lo), hi: Math.tanh(hi) };
    case Op.Sigmoid: return { lo: 0, hi: 1 };
    case Op.Relu: return { lo: Math.max(lo, 0), hi: Math.max(hi, 0) };
    case Op.Gelu: return { lo: -0.18, hi: Math.max(hi, 0) };
    case Op.Softplus: return { lo: softplusN(lo), hi: softplusN(hi) };
    case Op.Sin: case Op.Cos: case Op.Erf: return { lo: -1, hi: 1 };
  }
};

/** The interpreter that turns choices into a RandomGraph. */
class Generator {
  readonly defs: Def[] = [];
  readonly infos: Info[] = [];
  private inputs = 0;
  constructor(
    private readonly c: Chooser,
    private readonly opts: Required<RandomGraphOptions>,
  ) {}

  private push(def: Def, info: Info): number {
    this.defs.push(def);
    this.infos.push(info);
    return this.defs.length - 1;
  }

  freshInput(shape: readonly number[], domain: Domain): number {
    const name = `${this.opts.namePrefix}${this.inputs++}`;
    const bounds =
      domain.kind === "real" ? { lo: domain.lo, hi: domain.hi } : domain.kind === "index" || domain.kind === "bool" ? { lo: 0, hi: 1 } : { lo: -domain.hi, hi: domain.hi };
    const dtype = domain.kind === "index" ? "i32" : "f64";
    const leaf: LeafSpec = { kind: "input", name, shape, dtype, domain };
    return this.push(
      { kind: "leaf", leaf },
      { shape, dtype, ...bounds, constant: false, away: domain.kind === "awayFromZero", distinct: domain.kind === "distinct", ...(domain.kind === "index" ? { indexSize: domain.size } : {}) },
    );
  }

  freshConstant(shape: readonly number[], values?: readonly number[]): number {
    const vs = values ?? (this.c.bool() ? Array.from({ length: numel(shape) }, () => this.c.pick(PALETTE)) : [this.c.pick(PALETTE)]);
    return this.push({ kind: "leaf", leaf: { kind: "constant", shape, values: vs } }, { shape, dtype: "f64", lo: Math.min(...vs), hi: Math.max(...vs), constant: true, away: false, distinct: false });
  }

  /** A new leaf of `shape`: an input in a random domain, or (when allowed) a constant. */
  freshLeaf(shape: readonly number[]): number {
    const k = this.c.int(this.opts.constants ? 4 : 3);
    if (k === 3) return this.freshConstant(shape);
    return this.freshInput(shape, k === 1 ? { kind: "awayFromZero", lo: 0.2, hi: 2 } : k === 2 ? { kind: "distinct", gap: 0.05, hi: 3 } : { kind: "real", lo: -2, hi: 2 });
  }

  randomShape(maxRank = 3): number[] {
    const rank = this.c.int(maxRank + 1);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(1 + this.c.int(Math.min(4, Math.floor(MAX_ELEMENTS / numel(shape)))));
    return shape;
  }

  step(step: Step, info: Omit<Info, "dtype" | "away" | "distinct">): number {
    const v = this.push({ kind: "step", step }, { shape: info.shape, lo: info.lo, hi: info.hi, constant: info.constant, dtype: "f64", away: false, distinct: false });
    // Keep magnitudes moderate so comparisons before/after passes stay tight.
    return mag(info) > MAX_MAGNITUDE ? this.unary(Op.Tanh, v) : v;
  }

  /** Picks an earlier f64 value satisfying `ok` (recent first), or undefined. */
  pickValue(ok: (i: Info) => boolean = () => true): number | undefined {
    const ids = this.infos.flatMap((info, i) => (info.dtype === "f64" && ok(info) ? [i] : [])).reverse();
    return ids.length === 0 ? undefined : ids[this.c.int(Math.min(ids.length, 6))];
  }

  anyValue(ok?: (i: Info) => boolean): number {
    return this.pickValue(ok) ?? this.freshLeaf(this.randomShape());
  }

  /** Whether an op with a kink at 0 may take this value in smooth mode. */
  private kinkOk(v: number): boolean {
    return !this.opts.smooth || this.infos[v]!.constant || this.infos[v]!.away;
  }

  private awayLeaf(like: number): number {
    return this.freshInput(this.info(like).shape, { kind: "awayFromZero", lo: 0.2, hi: 2 });
  }

  private info(v: number): Info {
    return this.infos[v]!;
  }

  unary(op: UnaryOp, x: number): number {
    let arg = x;
    if (KINKED_UNARY.includes(op) && !this.kinkOk(arg)) arg = this.awayLeaf(arg);
    let b = unaryBounds(op, this.info(arg));
    if (b === undefined) {
      // Bring the argument into the op's domain: tanh for exp, e^tanh(x) in [0.36, 2.8] for log/sqrt.
      arg = this.unary(Op.Tanh, arg);
      if (op !== Op.Exp) arg = this.unary(Op.Exp, arg);
      b = unaryBounds(op, this.info(arg))!;
    }
    return this.step({ kind: "unary", op, x: arg }, { shape: this.info(arg).shape, ...b, constant: this.info(arg).constant });
  }

  /** A partner for `a` in a broadcasting op: an existing value or a new leaf of a compatible shape. */
  partner(a: number): number {
    const sa = this.info(a).shape;
    const fits = (i: Info): boolean => {
      const s = broadcast(sa, i.shape);
      return s !== undefined && numel(s) <= MAX_ELEMENTS;
    };
    if (this.c.bool()) {
      const v = this.pickValue(fits);
      if (v !== undefined) return v;
    }
    const k = this.c.int(4);
    const shape = k === 0 ? sa : k === 1 ? [] : k === 2 ? sa.slice(this.c.int(sa.length + 1)) : sa.map((d) => (this.c.bool() ? 1 : d));
    return this.freshLeaf(shape);
  }

  binary(op: BinaryOp, a0: number, b0?: number): number {
    const smoothKink = op === Op.Maximum || op === Op.Minimum;
    let a = a0;
    let b = b0 ?? this.partner(a);
    if (smoothKink && this.opts.smooth && !(this.info(a).constant && this.info(b).constant)) {
      // An away-from-zero value against zero never ties.
      if (!this.kinkOk(a)) a = this.awayLeaf(a);
      b = this.freshConstant([], [0]);
    }
    if (op === Op.Div && !(this.info(b).lo >= 0.2 || this.info(b).hi <= -0.2)) b = this.unary(Op.Exp, this.unary(Op.Tanh, b));
    if (op === Op.Pow) {
      if (!(this.info(a).lo >= 0.2)) a = this.unary(Op.Exp, this.unary(Op.Tanh, a));
      if (mag(this.info(b)) > 2) b = this.unary(Op.Tanh, b);
    }
    const [ia, ib] = [this.info(a), this.info(b)];
    const shape = broadcast(ia.shape, ib.shape)!;
    const bounds =
      op === Op.Add ? { lo: ia.lo + ib.lo, hi: ia.hi + ib.hi }
      : op === Op.Sub ? { lo: ia.lo - ib.hi, hi: ia.hi - ib.lo }
      : op === Op.Mul || op === Op.MulNoNan ? products(ia, ib)
      : op === Op.Div ? products(ia, { ...ib, lo: 1 / ib.hi, hi: 1 / ib.lo })
      : op === Op.Pow ? hull([ia.lo, ia.hi].flatMap((x) => [ib.lo, ib.hi].map((y) => ({ lo: x ** y, hi: x ** y }))))
      : op === Op.Maximum ? { lo: Math.max(ia.lo, ib.lo), hi: Math.max(ia.hi, ib.hi) }
      : { lo: Math.min(ia.lo, ib.lo), hi: Math.min(ia.hi, ib.hi) };
    return this.step({ kind: "binary", op, a, b }, { shape, ...bounds, constant: ia.constant && ib.constant });
  }

  where(): number {
    const compare = this.c.pick(COMPARE_CHOICES);
    let left = this.anyValue((i) => numel(i.shape) <= MAX_ELEMENTS);
    let right: number;
    if (this.opts.smooth) {
      if (!this.kinkOk(left)) left = this.awayLeaf(left);
      right = this.freshConstant([], [0]);
    } else right = this.partner(left);
    const mask = broadcast(this.info(left).shape, this.info(right).shape)!;
    const fits = (i: Info): boolean => {
      const s = broadcast(mask, i.shape);
      return s !== undefined && numel(s) <= MAX_ELEMENTS;
    };
    const a = this.pickValue(fits) ?? this.freshLeaf(mask);
    const both = broadcast(mask, this.info(a).shape)!;
    const fitsBoth = (i: Info): boolean => {
      const s = broadcast(both, i.shape);
      return s !== undefined && numel(s) <= MAX_ELEMENTS;
    };
    const b = this.c.bool() ? this.freshConstant([], [this.c.pick(PALETTE)]) : (this.pickValue(fitsBoth) ?? this.freshLeaf(both));
    const shape = broadcast(both, this.info(b).shape)!;
    const [il, ir, ia, ib] = [left, right, a, b].map((v) => this.info(v)) as [Info, Info, Info, Info];
    return this.step({ kind: "where", compare, left, right, a, b }, { shape, ...hull([ia, ib]), constant: il.constant && ir.constant && ia.constant && ib.constant });
  }

  reduce(op: ReduceOp, x0: number): number {
    let x = x0;
    if ((op === Op.Max || op === Op.Min) && this.opts.smooth && !this.info(x).constant && !this.info(x).distinct)
      x = this.freshInput(this.info(x).shape, { kind: "distinct", gap: 0.05, hi: 3 });
    const ix = this.info(x);
    const axes = ix.shape.flatMap((_, i) => (this.c.bool() ? [i] : []));
    const keepdims = this.c.bool();
    const count = numel(axes.map((a) => ix.shape[a]!));
    const bounds =
      op === Op.Sum ? { lo: ix.lo * count, hi: ix.hi * count } : op === Op.LogSumExp ? { lo: ix.lo, hi: ix.hi + Math.log(count) } : { lo: ix.lo, hi: ix.hi };
    const shape = keepdims ? ix.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : ix.shape.filter((_, i) => !axes.includes(i));
    return this.step({ kind: "reduce", op, x, axes, keepdims }, { shape, ...bounds, constant: ix.constant });
  }

  /** Same elements, a random factorization of the element count into 0-3 dims. */
  reshape(x: number): number {
    const ix = this.info(x);
    let n = numel(ix.shape);
    const factors: number[] = [];
    for (let p = 2; n > 1; p++) while (n % p === 0) (factors.push(p), (n /= p));
    const rank = factors.length === 0 ? this.c.int(3) : 1 + this.c.int(3);
    const shape = Array.from({ length: rank }, () => 1);
    for (const f of factors) shape[this.c.int(rank)]! *= f;
    return this.step({ kind: "reshape", x, shape }, { ...ix, shape });
  }

  transpose(x: number): number {
    const ix = this.info(x);
    const rest = ix.shape.map((_, i) => i);
    const perm: number[] = [];
    while (rest.length > 0) perm.push(rest.splice(this.c.int(rest.length), 1)[0]!);
    const shape = perm.map((p) => ix.shape[p]!);
    const reverse = this.c.int(4) === 0;
    return this.step({ kind: "transpose", x, perm: reverse ? undefined : perm }, { ...ix, shape: reverse ? [...ix.shape].reverse() : shape });
  }

  broadcastTo(x: number): number {
    const ix = this.info(x);
    const grown = ix.shape.map((d) => (d === 1 && this.c.bool() ? 2 + this.c.int(2) : d));
    const shape = ix.shape.length < 3 && this.c.bool() ? [1 + this.c.int(3), ...grown] : grown;
    return this.step({ kind: "broadcastTo", x, shape: numel(shape) <= MAX_ELEMENTS ? shape : ix.shape }, { ...ix, shape: numel(shape) <= MAX_ELEMENTS ? shape : ix.shape });
  }

  concat(x: number): number {
    const ix = this.info(x);
    if (ix.shape.length === 0) return this.expandDims(x);
    const axis = this.c.int(ix.shape.length);
    const fits = (i: Info): boolean => i.shape.length === ix.shape.length && i.shape.every((d, k) => k === axis || d === ix.shape[k]);
    const parts = [x];
    const rowSize = numel(ix.shape) / ix.shape[axis]!;
    let length = ix.shape[axis]!;
    for (let k = 1 + this.c.int(2); k > 0; k--) {
      const existing = this.c.bool() ? (this.pickValue(fits) ?? x) : undefined;
      const size = existing === undefined ? 1 + this.c.int(2) : this.info(existing).shape[axis]!;
      if ((length + size) * rowSize > MAX_ELEMENTS) break;
      parts.push(existing ?? this.freshLeaf(ix.shape.map((d, a) => (a === axis ? size : d))));
      length += size;
    }
    const infos = parts.map((p) => this.info(p));
    const shape = ix.shape.map((d, a) => (a === axis ? infos.reduce((s, i) => s + i.shape[axis]!, 0) : d));
    return this.step({ kind: "concat", xs: parts, axis: this.c.bool() ? axis - ix.shape.length : axis }, { shape, ...hull(infos), constant: infos.every((i) => i.constant) });
  }

  slice(x: number): number {
    const ix = this.info(x);
    const ranges: tg.SliceRange[] = [];
    const shape = [...ix.shape];
    ix.shape.forEach((d, a) => {
      if (this.c.bool()) return ranges.push(null);
      const start = this.c.int(d);
      const end = start + 1 + this.c.int(d - start);
      const stepBy = 1 + this.c.int(2);
      shape[a] = Math.ceil((end - start) / stepBy);
      ranges.push(end < d && this.c.bool() ? [start, end - d, stepBy] : [start, end, stepBy]);
    });
    return this.step({ kind: "slice", x, ranges }, { ...ix, shape });
  }

  pad(x: number): number {
    const ix = this.info(x);
    const widths = ix.shape.map(() => [this.c.int(2), this.c.int(2)] as const);
    const shape = ix.shape.map((d, a) => d + widths[a]![0] + widths[a]![1]);
    if (numel(shape) > MAX_ELEMENTS) return this.slice(x);
    return this.step({ kind: "pad", x, widths }, { ...hull([ix, { lo: 0, hi: 0 }]), shape, constant: ix.constant });
  }

  gather(x: number): number {
    const ix = this.info(x);
    if (ix.shape.length === 0) return this.reshape(x);
    const axis = this.c.int(ix.shape.length);
    const size = ix.shape[axis]!;
    const existing = this.infos.flatMap((i, k) => (i.indexSize === size && i.dtype === "i32" ? [k] : []));
    const indexRank = Math.max(0, Math.min(2, MAX_RANK + 1 - ix.shape.length));
    const fitting = existing.filter((i) => this.info(i).shape.length <= indexRank);
    const indices = fitting.length > 0 && this.c.bool() ? this.c.pick(fitting) : this.freshInput(this.randomShape(indexRank), { kind: "index", size });
    const shape = [...ix.shape.slice(0, axis), ...this.info(indices).shape, ...ix.shape.slice(axis + 1)];
    if (numel(shape) > MAX_ELEMENTS) return this.slice(x);
    return this.step({ kind: "gather", x, indices, axis }, { ...ix, shape });
  }

  matmul(a0: number): number {
    const a = this.info(a0).shape.length >= 2 ? a0 : this.freshLeaf([1 + this.c.int(3), 1 + this.c.int(4)]);
    const ia = this.info(a);
    const [transposeA, transposeB] = [this.c.bool(), this.c.bool()];
    const r = ia.shape.length;
    const m = ia.shape[transposeA ? r - 1 : r - 2]!;
    const k = ia.shape[transposeA ? r - 2 : r - 1]!;
    const batchA = ia.shape.slice(0, -2);
    const fits = (i: Info): boolean => {
      const s = i.shape;
      if (s.length < 2 || s[transposeB ? s.length - 1 : s.length - 2] !== k) return false;
      const batch = broadcast(batchA, s.slice(0, -2));
      return batch !== undefined && numel(batch) * m * s[transposeB ? s.length - 2 : s.length - 1]! <= MAX_ELEMENTS;
    };
    // Both the result [...batch, m, n] and a new rhs [k, n] stay within the element cap.
    const n = 1 + this.c.int(Math.max(1, Math.min(4, Math.floor(MAX_ELEMENTS / (numel(batchA) * m)), Math.floor(MAX_ELEMENTS / k))));
    const b = (this.c.bool() ? this.pickValue(fits) : undefined) ?? this.freshLeaf(transposeB ? [n, k] : [k, n]);
    const ib = this.info(b);
    const sb = ib.shape;
    const batch = broadcast(batchA, sb.slice(0, -2))!;
    const p = products(ia, ib);
    return this.step(
      { kind: "matmul", a, b, transposeA, transposeB },
      { shape: [...batch, m, sb[transposeB ? sb.length - 2 : sb.length - 1]!], lo: Math.min(0, p.lo * k), hi: Math.max(0, p.hi * k), constant: ia.constant && ib.constant },
    );
  }

  softmax(kind: "softmax" | "logSoftmax", x0: number): number {
    const x = this.info(x0).shape.length > 0 ? x0 : this.broadcastTo(this.expandDims(x0));
    const ix = this.info(x);
    const r = ix.shape.length;
    const axis = this.c.int(r) - (this.c.bool() ? r : 0);
    const n = ix.shape[axis < 0 ? axis + r : axis]!;
    const bounds = kind === "softmax" ? { lo: 0, hi: 1 } : { lo: ix.lo - ix.hi - Math.log(n), hi: 0 };
    return this.step({ kind, x, axis }, { ...ix, ...bounds });
  }

  expandDims(x: number): number {
    const ix = this.info(x);
    if (ix.shape.length >= MAX_RANK) return this.reshape(x);
    const axis = this.c.int(ix.shape.length + 1);
    return this.step({ kind: "expandDims", x, axis }, { ...ix, shape: [...ix.shape.slice(0, axis), 1, ...ix.shape.slice(axis)] });
  }

  squeeze(x: number): number {
    const ix = this.info(x);
    const ones = ix.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    if (ones.length === 0) return this.expandDims(x);
    const axes = this.c.bool() ? undefined : ones.filter((_, i) => i === 0 || this.c.bool());
    const dropped = axes ?? ones;
    return this.step({ kind: "squeeze", x, axes }, { ...ix, shape: ix.shape.filter((_, i) => !dropped.includes(i)) });
  }

  /** Identities and repeats that the optimization passes are meant to remove. */
  pattern(x: number): number {
    const ix = this.info(x);
    switch (this.c.int(10)) {
      case 0: {
        const one = this.c.bool() ? this.freshConstant([], [1]) : this.freshConstant(ix.shape, [1]);
        return this.c.bool() ? this.binary(Op.Mul, x, one) : this.binary(Op.Mul, one, x);
      }
      case 1: {
        const zero = this.freshConstant(this.c.bool() ? [] : ix.shape, [0]);
        const op = this.c.pick([Op.Add, Op.Sub] as const);
        return op === Op.Add && this.c.bool() ? this.binary(Op.Add, zero, x) : this.binary(op, x, zero);
      }
      case 2: return this.unary(Op.Neg, this.unary(Op.Neg, x));
      case 3: return this.transpose(this.transpose(x));
      case 4: return this.reshape(this.reshape(x));
      case 5: return this.step({ kind: "broadcastTo", x, shape: ix.shape }, { ...ix });
      case 6: {
        const earlier = this.defs.flatMap((d, i) => (d.kind === "step" ? [i] : []));
        if (earlier.length === 0) return this.binary(Op.Div, x, this.freshConstant(this.c.bool() ? [] : ix.shape, [1]));
        const def = this.defs[this.c.pick(earlier)]!;
        if (def.kind !== "step") return x;
        const s = def.step;
        const again = s.kind === "binary" && COMMUTATIVE.includes(s.op) && this.c.bool() ? { ...s, a: s.b, b: s.a } : s;
        return this.push({ kind: "step", step: again }, this.infos[this.defs.indexOf(def)]!);
      }
      case 7: return this.step({ kind: "reduce", op: Op.Sum, x, axes: [], keepdims: false }, { ...ix });
      case 8: {
        // Near-identities: constants that are and are not identity elements, on either side.
        const k = this.freshConstant(this.c.bool() ? [] : ix.shape, [this.c.pick([0, 1, -1, 2])]);
        const op = this.c.pick([Op.Mul, Op.Add, Op.Sub, Op.Div, Op.Pow, Op.Maximum] as const);
        return this.c.bool() ? this.binary(op, x, k) : this.binary(op, k, x);
      }
      default: {
        const filler = this.step({ kind: "broadcastTo", x: this.freshConstant([], [this.c.pick(PALETTE)]), shape: ix.shape }, { ...ix, lo: -3, hi: 3, constant: true });
        return this.binary(this.c.pick([Op.Add, Op.Mul] as const), x, filler);
      }
    }
  }

  /** One generation round. */
  round(): void {
    const kinds = ["unary", "binary", "pattern", "pattern", "where", "reduce", "reshape", "transpose", "broadcastTo", "concat", "slice", "pad", "gather", "matmul", "softmax", "logSoftmax", "expandDims", "squeeze", "cast", "stopGradient"] as const;
    const kind = this.c.pick(this.opts.smooth ? kinds.filter((k) => k !== "stopGradient") : kinds);
    const x = this.anyValue();
    switch (kind) {
      case "unary": return void this.unary(this.c.pick(UNARY_CHOICES), x);
      case "binary": return void this.binary(this.c.pick(BINARY_CHOICES), x);
      case "pattern": return void this.pattern(x);
      case "where": return void this.where();
      case "reduce": return void this.reduce(this.c.pick(REDUCE_CHOICES), x);
      case "reshape": return void this.reshape(x);
      case "transpose": return void this.transpose(x);
      case "broadcastTo": return void this.broadcastTo(x);
      case "concat": return void this.concat(x);
      case "slice": return void this.slice(x);
      case "pad": return void this.pad(x);
      case "gather": return void this.gather(x);
      case "matmul": return void this.matmul(x);
      case "softmax": case "logSoftmax": return void this.softmax(kind, x);
      case "expandDims": return void this.expandDims(x);
      case "squeeze": return void this.squeeze(x);
      case "cast": return void this.step({ kind: "cast", x }, { ...this.info(x) });
      case "stopGradient": return void this.step({ kind: "stopGradient", x }, { ...this.info(x) });
    }
  }
}

/** The defs a step reads. */
export const stepRefs = (s: Step): number[] => {
  switch (s.kind) {
    case "binary": case "matmul": return [s.a, s.b];
    case "where": return [s.left, s.right, s.a, s.b];
    case "concat": return [...s.xs];
    case "gather": return [s.x, s.indices];
    default: return [s.x];
  }
};

const interpret = (rounds: number, choices: readonly number[], opts: Required<RandomGraphOptions>): RandomGraph => {
  const g = new Generator(new Chooser(choices), opts);
  for (let i = 0; i < rounds; i++) g.round();
  // Outputs: the last value and the other sinks (values nothing reads), so few steps are dead.
  const read = new Set(g.defs.flatMap((d) => (d.kind === "step" ? stepRefs(d.step) : [])));
  const last = g.defs.length - 1;
  const sinks = g.defs.flatMap((d, i) => (d.kind === "step" && i !== last && !read.has(i) ? [i] : [])).reverse();
  const graph: RandomGraph = { defs: g.defs, outputs: [last, ...sinks.slice(0, opts.maxOutputs - 1)] };
  return Object.assign(graph, { [fc.toStringMethod]: () => describeRandomGraph(graph) });
};

/**
 * Small random DAGs of ops with compatible shapes over f64 leaves.
 * @example fc.assert(fc.property(randomGraph({ smooth: true }), (rg) => buildRandomGraph(rg).outputs.length > 0));
 */
export const randomGraph = (options: RandomGraphOptions = {}): fc.Arbitrary<RandomGraph> => {
  const opts: Required<RandomGraphOptions> = { maxSteps: 12, maxOutputs: 3, smooth: false, constants: true, namePrefix: "x", ...options };
  return fc
    .tuple(fc.integer({ min: 1, max: opts.maxSteps }), fc.array(fc.nat({ max: 0x7fffffff }), { maxLength: 40 * opts.maxSteps, size: "max" }))
    .map(([rounds, choices]) => interpret(rounds, choices, opts));
};

/** The leaves that are fed at run time, in creation order. */
export const inputLeaves = (rg: RandomGraph): InputLeaf[] =>
  rg.defs.flatMap((d) => (d.kind === "leaf" && d.leaf.kind === "input" ? [d.leaf] : []));

/** Builds the graph's tensors with the DSL: `inputs` parallel to `inputLeaves(rg)`. */
export const buildRandomGraph = (rg: RandomGraph): { inputs: AnyTensor[]; outputs: AnyTensor[] } => {
  const values: AnyTensor[] = [];
  const inputs: AnyTensor[] = [];
  const v = (i: number): AnyTensor => values[i]!;
  for (const def of rg.defs) {
    if (def.kind === "leaf") {
      const l = def.leaf;
      const t = l.kind === "constant" ? tg.constant(l.values, l.shape, "f64") : tg.input(l.name, l.shape, l.dtype);
      if (l.kind === "input") inputs.push(t);
      values.push(t);
      continue;
    }
    values.push(buildStep(def.step, v));
  }
  return { inputs, outputs: rg.outputs.map(v) };
};

const buildStep = (s: Step, v: (i: number) => AnyTensor): AnyTensor => {
  switch (s.kind) {
    case "unary": {
      const fns: { readonly [K in UnaryOp]: (x: AnyTensor) => AnyTensor } = {
        neg: tg.neg, abs: tg.abs, sign: tg.sign, exp: tg.exp, log: tg.log, sqrt: tg.sqrt, square: tg.square, tanh: tg.tanh,
        sigmoid: tg.sigmoid, relu: tg.relu, gelu: tg.gelu, softplus: tg.softplus, sin: tg.sin, cos: tg.cos, erf: tg.erf,
      };
      return fns[s.op](v(s.x));
    }
    case "binary": {
      const fns: { readonly [K in BinaryOp]: (a: AnyTensor, b: AnyTensor) => AnyTensor } = {
        add: tg.add, sub: tg.sub, mul: tg.mul, div: tg.div, pow: tg.pow, maximum: tg.maximum, minimum: tg.minimum, mulNoNan: tg.mulNoNan,
      };
      return fns[s.op](v(s.a), v(s.b));
    }
    case "where": {
      const fns: { readonly [K in CompareOp]: (a: AnyTensor, b: AnyTensor) => tg.Tensor<tg.DynamicShape, "bool"> } = {
        less: tg.less, lessEqual: tg.lessEqual, greater: tg.greater, greaterEqual: tg.greaterEqual, equal: tg.equal, notEqual: tg.notEqual,
      };
      return tg.where(fns[s.compare](v(s.left), v(s.right)), v(s.a), v(s.b));
    }
    case "reduce": {
      const fns: { readonly [K in ReduceOp]: (x: AnyTensor, axes: readonly number[], options: { readonly keepdims: boolean }) => AnyTensor } = { sum: tg.sum, mean: tg.mean, max: tg.max, min: tg.min, logsumexp: tg.logsumexp };
      return fns[s.op](v(s.x), s.axes, { keepdims: s.keepdims });
    }
    case "reshape": return tg.reshape(v(s.x), s.shape);
    case "transpose": return tg.transpose(v(s.x), s.perm);
    case "broadcastTo": return tg.broadcastTo(v(s.x), s.shape);
    case "expandDims": return tg.expandDims(v(s.x), s.axis);
    case "squeeze": return tg.squeeze(v(s.x), s.axes);
    case "concat": return tg.concat(s.xs.map(v), s.axis);
    case "slice": return tg.slice(v(s.x), s.ranges);
    case "pad": return tg.pad(v(s.x), s.widths);
    case "gather": return tg.gather(v(s.x), v(s.indices) as tg.Tensor<tg.Shape, "i32">, s.axis);
    case "matmul": return tg.matmul(v(s.a), v(s.b), { transposeA: s.transposeA, transposeB: s.transposeB });
    case "softmax": return tg.softmax(v(s.x), s.axis);
    case "logSoftmax": return tg.logSoftmax(v(s.x), s.axis);
    case "cast": return tg.cast(v(s.x), "f64");
    case "stopGradient": return tg.stopGradient(v(s.x));
  }
};

/** Values in a domain, as an arbitrary of `n` numbers. */
export const domainValues = (domain: Domain, n: number): fc.Arbitrary<number[]> => {
  const many = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T[]> => fc.array(a, { minLength: n, maxLength: n });
  switch (domain.kind) {
    case "real": return many(fc.double({ min: domain.lo, max: domain.hi, noNaN: true }));
    case "awayFromZero": return many(fc.tuple(fc.double({ min: domain.lo, max: domain.hi, noNaN: true }), fc.boolean()).map(([m, neg]) => (neg ? -m : m)));
    case "distinct": {
      const steps = Math.floor((2 * domain.hi) / domain.gap);
      return fc.uniqueArray(fc.integer({ min: 0, max: steps }), { minLength: n, maxLength: n }).map((ks) => ks.map((k) => -domain.hi + k * domain.gap));
    }
    case "index": return many(fc.integer({ min: 0, max: domain.size - 1 }));
    case "bool": return many(fc.integer({ min: 0, max: 1 }));
  }
};

/** Feeds for every input leaf, drawn from the leaves' domains. */
export const feedsFor = (rg: RandomGraph): fc.Arbitrary<Record<string, TensorValue>> => {
  const leaves = inputLeaves(rg);
  return fc
    .tuple(...leaves.map((l) => domainValues(l.domain, numel(l.shape))))
    .map((vals) => Object.fromEntries(leaves.map((l, i) => [l.name, tensorValue(l.dtype, l.shape, vals[i]!)])));
};

/** The feeds that name inputs reachable from `outputs` (nodes or tensors). */
export const usedFeeds = (feeds: Readonly<Record<string, TensorValue>>, outputs: readonly (Node | AnyTensor)[]): Record<string, TensorValue> => {
  const used = new Set<string>();
  const seen = new Set<Node>();
  const stack = outputs.map((o) => ("node" in o ? o.node : o));
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === Op.Input) used.add(n.params.name);
    stack.push(...n.inputs);
  }
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => used.has(name)));
};

/** A random graph together with feeds for its inputs. */
export const randomGraphCase = (options: RandomGraphOptions = {}): fc.Arbitrary<{ graph: RandomGraph; feeds: Record<string, TensorValue> }> =>
  randomGraph(options).chain((graph) => feedsFor(graph).map((feeds) => ({ graph, feeds })));

const refText = (rg: RandomGraph, i: number): string => {
  const d = rg.defs[i];
  return d?.kind === "leaf" && d.leaf.kind === "input" ? d.leaf.name : `v${i}`;
};

/** SSA-like text of the description, for counterexamples. */
export const describeRandomGraph = (rg: RandomGraph): string => {
  const lines = rg.defs.map((d, i) => {
    if (d.kind === "leaf") {
      const l = d.leaf;
      return l.kind === "input"
        ? `${l.name}: ${l.dtype}[${l.shape.join(",")}] ${JSON.stringify(l.domain)}`
        : `v${i} = constant [${l.shape.join(",")}] ${JSON.stringify(l.values)}`;
    }
    const { kind, ...rest } = d.step;
    const args = Object.entries(rest).map(([k, val]) =>
      ["x", "a", "b", "left", "right", "indices"].includes(k) && typeof val === "number" ? `${k}=${refText(rg, val)}` : k === "xs" ? `xs=[${(val as number[]).map((j) => refText(rg, j)).join(",")}]` : `${k}=${JSON.stringify(val)}`,
    );
    return `v${i} = ${kind}(${args.join(", ")})`;
  });
  return [...lines, `return ${rg.outputs.map((o) => refText(rg, o)).join(", ")}`].join("\n");
};
