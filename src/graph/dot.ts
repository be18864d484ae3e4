/**
 * The DOT (Graphviz) form of a graph, for pictures.
 *
 * Takes a Graph; returns DOT text that depends only on the graph (deterministic, so it
 * can be snapshot-tested). Nodes show op, dtype and shape and source line; inputs,
 * params and constants are ellipses in their own colours; gradient nodes (those with an
 * `origin`) have a red fill and a dashed edge to their forward origin when it is in the
 * graph; layers are clusters. Every label is escaped, so any name is safe.
 *
 * Layers come from `loc.functions` (the user's enclosing functions, innermost first):
 * - The model function is `options.modelFunction` if given, else the innermost function
 *   that encloses every forward op of the graph (their common outermost frames).
 * - A node's layer is the function called directly from the model function, i.e. the
 *   outermost user function below it. Ops in the model function itself, and nodes
 *   without a location, are outside any cluster.
 * - Two calls of one layer function are told apart by source positions: walking forward
 *   ops in id order, an op at a position (file:line:column) already seen in the current
 *   instance of its layer starts a new instance ("dense #1", "dense #2").
 * - A leaf joins the cluster of its first consumer in the same layer (a param made inside
 *   `dense` sits in that call's cluster); a gradient node joins its origin's cluster.
 */
import { Op } from "../ops.js";
import type { Graph } from "./graph.js";
import type { Node } from "./node.js";
import { formatLoc } from "./location.js";
import { formatParams, typeText } from "./text.js";

export interface DotOptions {
  /** Show source lines in labels (default true). */
  readonly locations?: boolean;
  /** Draw layers as clusters (default true). */
  readonly clusters?: boolean;
  /** The model function whose callees are layers; inferred when omitted (see above). */
  readonly modelFunction?: string;
  /** Layout direction (default "TB", top to bottom). */
  readonly rankdir?: "TB" | "LR" | "BT" | "RL";
}

/**
 * Escapes text for a double-quoted DOT string: backslashes, quotes, line breaks, control characters.
 * @example escapeDot('say "hi"\n') // 'say \\"hi\\"\\n'
 */
export const escapeDot = (s: string): string =>
  s
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, "\\n")
    .replace(/[\u0000-\u001f\u007f]/g, "");

const quote = (s: string): string => `"${escapeDot(s)}"`;

const isLeaf = (n: Node): boolean => n.op === Op.Input || n.op === Op.Param || n.op === Op.Constant;

/** A layer cluster: the layer function's name, the source positions of its ops, and its label ("dense #2"). */
export interface Cluster {
  readonly name: string;
  readonly positions: Set<string>;
  label: string;
}

const commonSuffixLength = (lists: readonly (readonly string[])[]): number => {
  const first = lists[0];
  if (first === undefined) return 0;
  let n = 0;
  while (n < first.length && lists.every((l) => n < l.length && l[l.length - 1 - n] === first[first.length - 1 - n])) n++;
  return n;
};

/** The layer-name function for the graph: a node's layer function name, or undefined. */
const layerNamer = (g: Graph, modelFunction: string | undefined): ((n: Node) => string | undefined) => {
  if (modelFunction !== undefined) {
    return (n) => {
      const fs = n.loc?.functions ?? [];
      const i = fs.indexOf(modelFunction);
      return i >= 1 ? fs[i - 1] : undefined;
    };
  }
  const forward = g.nodes.filter((n) => !isLeaf(n) && n.origin === undefined && (n.loc?.functions?.length ?? 0) > 0);
  const lists = forward.map((n) => n.loc!.functions!);
  const shared = commonSuffixLength(lists);
  const suffix = lists[0]?.slice(lists[0].length - shared) ?? [];
  return (n) => {
    const fs = n.loc?.functions ?? [];
    if (fs.length <= shared || suffix.some((f, i) => fs[fs.length - shared + i] !== f)) return undefined;
    return fs[fs.length - shared - 1];
  };
};

/** Assigns nodes to layer clusters (see the header for the rule); the summary and the HTML view group by it too. */
export const clusterNodes = (g: Graph, modelFunction: string | undefined): { clusters: Cluster[]; of: Map<Node, number> } => {
  const layerOf = layerNamer(g, modelFunction);
  const clusters: Cluster[] = [];
  const of = new Map<Node, number>();
  const current = new Map<string, number>();
  for (const n of g.nodes) {
    if (isLeaf(n) || n.origin !== undefined || n.loc === undefined) continue;
    const name = layerOf(n);
    if (name === undefined) continue;
    const pos = `${n.loc.file}:${n.loc.line}:${n.loc.column}`;
    let c = current.get(name);
    if (c === undefined || clusters[c]!.positions.has(pos)) {
      c = clusters.length;
      clusters.push({ name, positions: new Set(), label: name });
      current.set(name, c);
    }
    clusters[c]!.positions.add(pos);
    of.set(n, c);
  }
  for (const n of g.nodes) {
    if (n.origin === undefined) continue;
    let o: Node | undefined = n.origin;
    for (let steps = 0; o !== undefined && o.origin !== undefined && steps < g.nodes.length; steps++) o = o.origin;
    const c = o === undefined ? undefined : of.get(o);
    if (c !== undefined) of.set(n, c);
  }
  const consumers = new Map<Node, Node[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      if (!isLeaf(i)) continue;
      const list = consumers.get(i);
      if (list === undefined) consumers.set(i, [n]);
      else list.push(n);
    }
  for (const leaf of g.nodes.filter(isLeaf)) {
    const name = layerOf(leaf);
    if (name === undefined) continue;
    const home = (consumers.get(leaf) ?? []).map((u) => of.get(u)).find((c) => c !== undefined && clusters[c]!.name === name);
    if (home !== undefined) of.set(leaf, home);
  }
  const calls = new Map<string, number>();
  for (const c of clusters) calls.set(c.name, (calls.get(c.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const c of clusters) {
    const k = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, k);
    if (calls.get(c.name)! > 1) c.label = `${c.name} #${k}`;
  }
  return { clusters, of };
};

const constantText = (values: readonly number[]): string =>
  values.length === 1 ? String(values[0]) : values.length <= 4 ? `[${values.join(", ")}]` : `[${values.length} values]`;

const labelOf = (g: Graph, n: Node, id: number, locations: boolean): string[] => {
  const head =
    n.op === Op.Input || n.op === Op.Param
      ? [n.params.name, `${n.op} ${typeText(n)}`]
      : n.op === Op.Constant
        ? [`%${id} constant ${constantText(n.params.values)}`, typeText(n)]
        : [`%${id} ${n.op}${formatParams(n)}`, typeText(n)];
  const origin = n.origin === undefined ? [] : [g.ids.has(n.origin) ? `grad of %${g.ids.get(n.origin)}` : `grad of ${n.origin.op} ${typeText(n.origin)}`];
  const loc = locations && n.loc !== undefined ? [formatLoc(n.loc)] : [];
  return [...head, ...origin, ...loc];
};

const STYLE_OF_LEAF: Readonly<Record<string, string>> = {
  [Op.Input]: `shape=ellipse, fillcolor="#dbeafe"`,
  [Op.Param]: `shape=ellipse, fillcolor="#dcfce7"`,
  [Op.Constant]: `shape=ellipse, fillcolor="#f3f4f6"`,
};
const GRADIENT_STYLE = `fillcolor="#fee2e2", color="#b91c1c"`;

const nodeLine = (g: Graph, n: Node, id: number, locations: boolean, isOutput: boolean): string => {
  const label = labelOf(g, n, id, locations).map(escapeDot).join("\\n");
  const style = [STYLE_OF_LEAF[n.op], n.origin !== undefined ? GRADIENT_STYLE : undefined, isOutput ? "peripheries=2" : undefined].filter(
    (s): s is string => s !== undefined,
  );
  return `n${id} [label="${label}"${style.length > 0 ? `, ${style.join(", ")}` : ""}];`;
};

/**
 * Writes a graph as Graphviz DOT text (render with any DOT renderer).
 * @example
 * const g = buildGraph({ loss: sum(tanh(matmul(x, W))) }, "mlp");
 * fs.writeFileSync("mlp.dot", graphToDot(g, { rankdir: "LR" }));
 */
export const graphToDot = (g: Graph, options: DotOptions = {}): string => {
  const locations = options.locations ?? true;
  const { clusters, of } = options.clusters === false ? { clusters: [], of: new Map<Node, number>() } : clusterNodes(g, options.modelFunction);
  const outputs = new Set(g.outputs);
  const line = (n: Node, i: number): string => nodeLine(g, n, i, locations, outputs.has(n));
  const lines: string[] = [
    `digraph ${quote(g.name)} {`,
    `  graph [rankdir=${options.rankdir ?? "TB"}, fontname="Helvetica", fontsize=10];`,
    `  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];`,
    `  edge [color="#4b5563", arrowsize=0.7];`,
  ];
  clusters.forEach((c, k) => {
    lines.push(`  subgraph cluster_${k} {`, `    label=${quote(c.label)};`, `    style="rounded,dashed"; color="#6b7280"; fontcolor="#374151";`);
    g.nodes.forEach((n, i) => {
      if (of.get(n) === k) lines.push(`    ${line(n, i)}`);
    });
    lines.push("  }");
  });
  g.nodes.forEach((n, i) => {
    if (!of.has(n)) lines.push(`  ${line(n, i)}`);
  });
  g.nodes.forEach((n, i) => {
    for (const x of n.inputs) lines.push(`  n${g.ids.get(x)} -> n${i};`);
  });
  g.nodes.forEach((n, i) => {
    const o = n.origin === undefined ? undefined : g.ids.get(n.origin);
    if (o !== undefined) lines.push(`  n${i} -> n${o} [style=dashed, color="#b91c1c", constraint=false, arrowhead=onormal, tooltip="gradient of"];`);
  });
  g.outputs.forEach((o, k) => {
    lines.push(`  out${k} [label=${quote(g.outputNames[k] ?? `out${k}`)}, shape=plaintext, style=""];`, `  n${g.ids.get(o)} -> out${k};`);
  });
  lines.push("}");
  return lines.join("\n");
};
