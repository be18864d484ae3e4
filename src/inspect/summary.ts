/**
 * Model summaries: layers (grouped above their ops), output shapes, parameter counts,
 * FLOPs and the compiled program's peak memory.
 *
 * Takes a Graph and sizes for its symbolic dims (default 1 each, so FLOPs are per
 * example); returns a `ModelSummary` value and formats it as a table. Layers follow the
 * DOT writer's rule (the functions called by the model function; see `layers.ts`), so
 * the table and the picture group ops alike; a layer's params are those only it uses. FLOPs follow `flops.ts`. Peak memory is the
 * arena of the program `compile` builds for those dims (optimized, fused, memory-planned);
 * when compiling fails the summary says why instead. Pure apart from compiling.
 */
import { Op } from "../ops.js";
import type { Graph } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { bindShape, compactShape, numel } from "../graph/shapes.js";
import { formatLoc, isKnownLoc } from "../graph/location.js";
import { formatParams } from "../graph/text.js";
import { ValidationError } from "../errors.js";
import { compile } from "../../runtime/program.js";
import { allocate, bytesPerElement, type TensorValue } from "../../runtime/value.js";
import { nodeFlops } from "./flops.js";
import { layerGroups } from "./layers.js";

export interface SummaryOptions {
  /** Sizes of symbolic dims; unnamed ones are 1 (so FLOPs are per example). */
  readonly dims?: Readonly<Record<string, number>>;
  /** The model function whose callees are layers (see `graphToDot`); inferred when omitted. */
  readonly modelFunction?: string;
  /** Compile the graph to report peak memory (default true). */
  readonly memory?: boolean;
}

export interface SummaryOp {
  readonly id: number;
  /** Op and params, e.g. `sum[axes=[1]]`; a leaf's name for inputs and params. */
  readonly text: string;
  readonly op: Op;
  /** dtype and declared shape, e.g. `f32[batch,256]`. */
  readonly type: string;
  readonly flops: number;
  /** Elements, for params. */
  readonly params: number;
  readonly loc: string | undefined;
}

/** A row of the table: a layer with its ops, or one op outside every layer. */
export interface SummaryGroup {
  readonly kind: "layer" | "op";
  readonly label: string;
  /** The layer's (or op's) output type: its last forward op's (its last op's in a graph of gradients only). */
  readonly type: string;
  readonly params: number;
  readonly flops: number;
  /** Non-leaf nodes of the layer in id order (the op itself for an op row). */
  readonly ops: readonly SummaryOp[];
}

export type MemoryReport =
  | { readonly kind: "planned"; readonly peakBytes: number; readonly naiveBytes: number; readonly paramBytes: number }
  | { readonly kind: "unavailable"; readonly reason: string };

export interface ModelSummary {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly type: string }[];
  readonly outputs: readonly { readonly name: string; readonly type: string }[];
  readonly groups: readonly SummaryGroup[];
  /** Param elements (all params of the graph) and their bytes. */
  readonly params: number;
  readonly paramBytes: number;
  /** Param elements that no layer claims. */
  readonly paramsOutsideLayers: number;
  readonly flops: number;
  readonly dims: Readonly<Record<string, number>>;
  readonly memory: MemoryReport;
}

const isLeaf = (n: Node): boolean => n.op === Op.Input || n.op === Op.Param || n.op === Op.Constant;
const typeOf = (n: Node): string => `${n.dtype}${compactShape(n.shape)}`;

/** Every symbolic dim name of the graph's shapes, in first-seen order. */
export const symbolicDims = (g: Graph): string[] => {
  const seen = new Set<string>();
  for (const n of g.nodes) for (const d of n.shape) if (typeof d === "string") seen.add(d);
  return [...seen];
};

/**
 * Sizes for every symbolic dim of the graph: the given ones (checked: known names,
 * positive integers), 1 for the rest.
 * @example bindingsFor(g, { batch: 64 }) // Map { "batch" => 64 }
 */
export const bindingsFor = (g: Graph, dims: Readonly<Record<string, number>>): Map<string, number> => {
  const names = symbolicDims(g);
  for (const [k, v] of Object.entries(dims)) {
    if (!names.includes(k))
      throw new ValidationError(`graph '${g.name}' has no symbolic dim '${k}' (its dims: ${names.length === 0 ? "none" : names.join(", ")})`, `dims.${k}`);
    if (!Number.isSafeInteger(v) || v < 1) throw new ValidationError(`must be a positive integer, got ${v}`, `dims.${k}`);
  }
  return new Map(names.map((n) => [n, dims[n] ?? 1]));
};

const concrete = (n: Node, bindings: ReadonlyMap<string, number>): number[] => bindShape(n.shape, bindings) as number[];

/** Zero-filled feeds for every input and param of the graph, shaped by the bindings. */
export const zeroFeeds = (g: Graph, bindings: ReadonlyMap<string, number>): Record<string, TensorValue> => {
  const feeds: Record<string, TensorValue> = {};
  for (const n of g.nodes) {
    if (n.op !== Op.Input && n.op !== Op.Param) continue;
    const shape = concrete(n, bindings);
    feeds[n.params.name] = { dtype: n.dtype, shape, data: allocate(n.dtype, numel(shape)) };
  }
  return feeds;
};

const memoryOf = (g: Graph, bindings: ReadonlyMap<string, number>, paramBytes: number): MemoryReport => {
  try {
    const plan = compile(g).plan(zeroFeeds(g, bindings));
    return { kind: "planned", peakBytes: plan.peakBytes, naiveBytes: plan.naiveBytes, paramBytes };
  } catch (e) {
    return { kind: "unavailable", reason: e instanceof Error ? e.message : String(e) };
  }
};

/**
 * Summarizes a graph: layers and their ops, output types, params, FLOPs, peak memory.
 * @example
 * const s = summarizeGraph(buildGraph({ logits }, "mnist"));
 * s.params; // 269322 for a 784-256-256-10 MLP
 * console.log(formatSummary(s));
 */
export const summarizeGraph = (g: Graph, options: SummaryOptions = {}): ModelSummary => {
  const bindings = bindingsFor(g, options.dims ?? {});
  const { clusters, of } = layerGroups(g, options.modelFunction);
  const opOf = (n: Node, id: number): SummaryOp => {
    const shape = concrete(n, bindings);
    const flops = isLeaf(n) ? 0 : nodeFlops(n, n.inputs.map((i) => concrete(i, bindings)), shape);
    return {
      id,
      text: n.op === Op.Input || n.op === Op.Param ? n.params.name : `${n.op}${formatParams(n)}`,
      op: n.op,
      type: typeOf(n),
      flops,
      params: n.op === Op.Param ? numel(shape) : 0,
      loc: isKnownLoc(n.loc) ? formatLoc(n.loc) : undefined,
    };
  };
  const rows = g.nodes.map(opOf);
  const layerOps = clusters.map(() => [] as SummaryOp[]);
  const layerParams = clusters.map(() => 0);
  const groups: (SummaryGroup | number)[] = [];
  let paramsOutside = 0;
  g.nodes.forEach((n, id) => {
    const c = of.get(n);
    const row = rows[id]!;
    if (n.op === Op.Param) {
      if (c === undefined) paramsOutside += row.params;
      else layerParams[c]! += row.params;
    }
    if (isLeaf(n)) return;
    if (c === undefined) {
      groups.push({ kind: "op", label: `%${id} ${row.text}`, type: row.type, params: 0, flops: row.flops, ops: [row] });
      return;
    }
    if (layerOps[c]!.length === 0) groups.push(c);
    layerOps[c]!.push(row);
  });
  const resolved = groups.map((x): SummaryGroup => {
    if (typeof x !== "number") return x;
    const ops = layerOps[x]!;
    const forward = ops.filter((o) => g.nodes[o.id]!.origin === undefined);
    const last = forward[forward.length - 1] ?? ops[ops.length - 1]!;
    return { kind: "layer", label: clusters[x]!.label, type: last.type, params: layerParams[x]!, flops: ops.reduce((a, o) => a + o.flops, 0), ops };
  });
  const paramNodes = g.nodes.filter((n) => n.op === Op.Param);
  const params = paramNodes.reduce((a, n) => a + numel(concrete(n, bindings)), 0);
  const paramBytes = paramNodes.reduce((a, n) => a + numel(concrete(n, bindings)) * bytesPerElement(n.dtype), 0);
  return {
    name: g.name,
    inputs: g.nodes.flatMap((n) => (n.op === Op.Input ? [{ name: n.params.name, type: typeOf(n) }] : [])),
    outputs: g.outputs.map((o, i) => ({ name: g.outputNames[i] ?? `out${i}`, type: typeOf(o) })),
    groups: resolved,
    params,
    paramBytes,
    paramsOutsideLayers: paramsOutside,
    flops: rows.reduce((a, o) => a + o.flops, 0),
    dims: Object.fromEntries(bindings),
    memory: options.memory === false ? { kind: "unavailable", reason: "not computed (memory: false)" } : memoryOf(g, bindings, paramBytes),
  };
};

const count = (n: number): string => n.toLocaleString("en-US");

/**
 * Bytes with a binary unit: `formatBytes(1536)` is "1.5 KiB".
 * @example formatBytes(3 * 1024 * 1024) // "3.0 MiB"
 */
export const formatBytes = (n: number): string => {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
};

export interface FormatSummaryOptions {
  /** List each layer's ops under it (default true). */
  readonly ops?: boolean;
}

/**
 * The summary as a plain-text table: one row per layer with its ops indented below.
 * @example console.log(formatSummary(summarizeGraph(graph), { ops: false }));
 */
export const formatSummary = (s: ModelSummary, options: FormatSummaryOptions = {}): string => {
  const showOps = options.ops ?? true;
  const table: [string, string, string, string][] = [["layer / op", "output", "params", "FLOPs"]];
  for (const g of s.groups) {
    table.push([g.label, g.type, g.kind === "layer" ? count(g.params) : "", count(g.flops)]);
    if (g.kind === "layer" && showOps) for (const o of g.ops) table.push([`  %${o.id} ${o.text}`, o.type, "", count(o.flops)]);
  }
  if (s.paramsOutsideLayers > 0) table.push(["(params outside layers)", "", count(s.paramsOutsideLayers), ""]);
  const total: [string, string, string, string] = ["total", "", count(s.params), count(s.flops)];
  const widths = [0, 1, 2, 3].map((k) => Math.max(...[...table, total].map((r) => r[k]!.length)));
  const line = (r: readonly string[]): string =>
    [r[0]!.padEnd(widths[0]!), r[1]!.padEnd(widths[1]!), r[2]!.padStart(widths[2]!), r[3]!.padStart(widths[3]!)].join("  ").trimEnd();
  const rule = "-".repeat(widths.reduce((a, w) => a + w, 0) + 6);
  const dims = Object.entries(s.dims);
  const dimText = dims.length === 0 ? "" : ` with ${dims.map(([k, v]) => `${k}=${v}`).join(", ")}`;
  const memory =
    s.memory.kind === "planned"
      ? `peak memory${dimText}: ${formatBytes(s.memory.peakBytes)} of intermediates in the compiled program's arena (${formatBytes(s.memory.naiveBytes)} if every intermediate had its own buffer), plus ${formatBytes(s.memory.paramBytes)} of params`
      : `peak memory: not available (${s.memory.reason})`;
  return [
    `model ${s.name}`,
    `inputs:  ${s.inputs.map((i) => `${i.name}: ${i.type}`).join(", ") || "none"}`,
    `outputs: ${s.outputs.map((o) => `${o.name}: ${o.type}`).join(", ")}`,
    "",
    line(table[0]!),
    rule,
    ...table.slice(1).map(line),
    rule,
    line(total),
    "",
    `params: ${count(s.params)} (${formatBytes(s.paramBytes)})`,
    `FLOPs${dimText}: ${count(s.flops)}${dims.every(([, v]) => v === 1) ? " per example" : ""} (matmul 2·M·K·N, elementwise 1 per element, reductions 1 per input element, softmax 5 per element)`,
    memory,
  ].join("\n");
};
