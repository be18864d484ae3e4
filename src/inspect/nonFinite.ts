/**
 * NaN/Inf tracing: a checked run that stops at the first node whose output is not finite.
 *
 * Takes a graph (or output tensors/nodes) and feeds; evaluates it with the reference
 * interpreter (`evaluate` with `onNode`), checking every float value as it is computed,
 * in topological order. Guarantees: the reported node is the first non-finite one in
 * that order, so every input it has is finite unless it is itself a leaf; the report
 * names its op, declared and concrete shapes, the user's source line, for a gradient
 * node the forward node it came from (and that node's line), and the range of each
 * input (min, max, NaN/Inf counts). Constants are not checked by default: an author who
 * writes `-Infinity` into a constant means it. Feed and shape errors throw as in `evaluate`.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../ops.js";
import { buildGraphE, type Graph } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { compactShape, formatShape } from "../graph/shapes.js";
import { formatLoc } from "../graph/location.js";
import { formatParams } from "../graph/text.js";
import type { AnyTensor } from "../tensor.js";
import { evaluate, type EvaluateOptions } from "../../runtime/interpret.js";
import type { TensorValue } from "../../runtime/value.js";

/** How the values of one tensor are spread: min and max over its finite values, and counts of the rest. */
export interface ValueRange {
  readonly size: number;
  /** Smallest and largest finite value (NaN when there is none). */
  readonly min: number;
  readonly max: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
}

/** A node as the report shows it. */
export interface ReportedNode {
  /** Its id in the checked graph, when it is in it (an origin may be outside). */
  readonly id: number | undefined;
  readonly op: Op;
  /** `%5 log`, `sum[axes=[1]]`, or a leaf's name. */
  readonly text: string;
  /** Declared type, e.g. `f32[batch,3]`. */
  readonly declared: string;
  /** The user's source line, `file:line`, or `<unknown>`. */
  readonly loc: string;
}

export interface NonFiniteReport {
  readonly node: ReportedNode;
  /** Concrete shape of the non-finite value. */
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly value: ValueRange;
  /** Index of the first non-finite element. */
  readonly firstIndex: readonly number[];
  /** For a gradient node: its forward origin, then that node's origin, and so on. */
  readonly origins: readonly ReportedNode[];
  readonly inputs: readonly { readonly node: ReportedNode; readonly dtype: string; readonly shape: readonly number[]; readonly range: ValueRange }[];
}

export interface CheckedOptions extends Omit<EvaluateOptions, "onNode"> {
  /** Check constants too (default false). */
  readonly checkConstants?: boolean;
}

/**
 * The value range of a tensor.
 * @example valueRange(tensorValue("f32", [3], [1, NaN, -Infinity])) // { size: 3, min: 1, max: 1, nan: 1, posInf: 0, negInf: 1 }
 */
export const valueRange = (v: TensorValue): ValueRange => {
  let min = Infinity;
  let max = -Infinity;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  const d = v.data;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    if (x !== x) nan++;
    else if (x === Infinity) posInf++;
    else if (x === -Infinity) negInf++;
    else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  const none = nan + posInf + negInf === d.length;
  return { size: d.length, min: none ? NaN : min, max: none ? NaN : max, nan, posInf, negInf };
};

const isFloatValue = (v: TensorValue): boolean => v.dtype === "f32" || v.dtype === "f64";

const firstNonFiniteIndex = (v: TensorValue): number => {
  const d = v.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
};

const unravel = (flat: number, shape: readonly number[]): number[] => {
  const idx = new Array<number>(shape.length).fill(0);
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    const d = shape[ax]!;
    idx[ax] = d === 0 ? 0 : flat % d;
    flat = d === 0 ? 0 : Math.floor(flat / d);
  }
  return idx;
};

const reported = (g: Graph, n: Node): ReportedNode => {
  const id = g.ids.get(n);
  const name = n.op === Op.Input || n.op === Op.Param ? `${n.op} '${n.params.name}'` : `${n.op}${formatParams(n)}`;
  return { id, op: n.op, text: id === undefined ? name : `%${id} ${name}`, declared: `${n.dtype}${compactShape(n.shape)}`, loc: formatLoc(n.loc) };
};

const originChain = (g: Graph, n: Node): ReportedNode[] => {
  const chain: ReportedNode[] = [];
  const seen = new Set<Node>();
  for (let o = n.origin; o !== undefined && !seen.has(o); o = o.origin) {
    seen.add(o);
    chain.push(reported(g, o));
  }
  return chain;
};

const graphOf = (model: Graph | readonly Node[] | readonly AnyTensor[]): Graph => {
  if ("nodes" in model && "ids" in model) return model;
  const nodes = (model as readonly (Node | AnyTensor)[]).map((x) => ("node" in x ? x.node : x));
  const built = buildGraphE(nodes, { name: "checked" });
  if (E.isLeft(built)) throw new Error(`runChecked: ${built.left.message}`);
  return built.right;
};

/**
 * Evaluates with NaN/Inf checks: `right` holds the outputs (in `graph.outputs` order),
 * `left` the report of the first node whose value is not finite.
 * @example
 * const r = traceNonFinite(buildGraph({ loss }), feeds);
 * if (E.isLeft(r)) console.error(formatNonFiniteReport(r.left));
 */
export const traceNonFinite = (
  model: Graph | readonly Node[] | readonly AnyTensor[],
  feeds: Readonly<Record<string, TensorValue>>,
  options: CheckedOptions = {},
): E.Either<NonFiniteReport, TensorValue[]> => {
  const g = graphOf(model);
  const values = new Map<Node, TensorValue>();
  let found: NonFiniteReport | undefined;
  const stop = new Error("non-finite value found");
  const onNode = (node: Node, v: TensorValue): void => {
    values.set(node, v);
    if (!isFloatValue(v) || (node.op === Op.Constant && options.checkConstants !== true)) return;
    const at = firstNonFiniteIndex(v);
    if (at < 0) return;
    found = {
      node: reported(g, node),
      shape: v.shape,
      dtype: v.dtype,
      value: valueRange(v),
      firstIndex: unravel(at, v.shape),
      origins: originChain(g, node),
      inputs: node.inputs.map((i) => {
        const iv = values.get(i)!;
        return { node: reported(g, i), dtype: iv.dtype, shape: iv.shape, range: valueRange(iv) };
      }),
    };
    throw stop;
  };
  try {
    const { onNode: _ignored, ...rest } = options as EvaluateOptions;
    return E.right(evaluate(g.outputs, feeds, { ...rest, onNode }));
  } catch (e) {
    if (e === stop && found !== undefined) return E.left(found);
    throw e;
  }
};

const num = (x: number): string => (Number.isInteger(x) && Math.abs(x) < 1e15 ? String(x) : x.toPrecision(6).replace(/\.?0+(e|$)/, "$1"));

/**
 * A range as text: `min -3, max 4` plus any NaN/Inf counts.
 * @example formatRange(valueRange(tensorValue("f32", [2], [1, NaN]))) // "min 1, max 1, 1 NaN"
 */
export const formatRange = (r: ValueRange): string => {
  const bad = [r.nan > 0 ? `${r.nan} NaN` : "", r.posInf > 0 ? `${r.posInf} +Inf` : "", r.negInf > 0 ? `${r.negInf} -Inf` : ""].filter((s) => s !== "");
  const finite = r.size - r.nan - r.posInf - r.negInf;
  const span = finite === 0 ? "no finite values" : `min ${num(r.min)}, max ${num(r.max)}`;
  return [span, ...bad].join(", ");
};

const kinds = (r: ValueRange): string =>
  [r.nan > 0 ? "NaN" : "", r.posInf > 0 ? "+Inf" : "", r.negInf > 0 ? "-Inf" : ""].filter((s) => s !== "").join(" and ");

/**
 * The report as text: the node and its line, for a gradient node its forward origin and
 * that node's line, then each input's range.
 * @example console.error(formatNonFiniteReport(report));
 */
export const formatNonFiniteReport = (r: NonFiniteReport): string => {
  const n = r.node;
  const isLeaf = n.op === Op.Input || n.op === Op.Param || n.op === Op.Constant;
  const origin = r.origins[0];
  const head = isLeaf
    ? `the ${n.op === Op.Constant ? "constant" : "feed"} ${n.text} holds ${kinds(r.value)} (declared at ${n.loc})`
    : origin !== undefined
      ? `${n.text} produced ${kinds(r.value)} in the backward pass`
      : `${n.text} produced ${kinds(r.value)} at ${n.loc}`;
  const lines = [
    head,
    ...(origin === undefined
      ? []
      : [
          `  gradient of: ${origin.text} ${origin.declared} at ${origin.loc}${r.origins.length > 1 ? ` (itself from ${r.origins.slice(1).map((o) => `${o.text} at ${o.loc}`).join(", from ")})` : ""}`,
          ...(n.loc !== origin.loc ? [`  built at: ${n.loc}`] : []),
        ]),
    `  value: ${r.dtype}${formatShape(r.shape)} (declared ${n.declared}): ${formatRange(r.value)}; first at ${formatShape(r.firstIndex)}`,
    ...(r.inputs.length === 0 ? [] : ["  inputs:"]),
    ...r.inputs.map((i) => `    ${i.node.text} ${i.dtype}${formatShape(i.shape)} at ${i.node.loc}: ${formatRange(i.range)}`),
  ];
  return lines.join("\n");
};

/**
 * A run found a NaN or an infinity; `report` says where (see `formatNonFiniteReport`).
 * @example
 * try { runChecked(graph, feeds) } catch (e) { if (e instanceof NonFiniteError) console.error(e.report.node.loc) }
 */
export class NonFiniteError extends Error {
  override readonly name = "NonFiniteError";
  constructor(
    readonly report: NonFiniteReport,
    context?: string,
  ) {
    super(`${context === undefined ? "" : `${context}: `}${formatNonFiniteReport(report)}`);
  }
}

/**
 * Evaluates with NaN/Inf checks and returns the outputs, or throws a NonFiniteError at the
 * first node whose value is not finite.
 * @example
 * const [loss] = runChecked([lossTensor], feeds); // throws: "%7 log produced NaN at model.ts:12 ..."
 */
export const runChecked = (
  model: Graph | readonly Node[] | readonly AnyTensor[],
  feeds: Readonly<Record<string, TensorValue>>,
  options: CheckedOptions = {},
): TensorValue[] => {
  const r = traceNonFinite(model, feeds, options);
  if (E.isLeft(r)) throw new NonFiniteError(r.left);
  return r.right;
};

/** Whether every float element of the values is finite. */
export const allFinite = (values: Iterable<TensorValue>): boolean => {
  for (const v of values) if (isFloatValue(v) && firstNonFiniteIndex(v) >= 0) return false;
  return true;
};

