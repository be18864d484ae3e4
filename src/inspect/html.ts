/**
 * The HTML view of a graph: one self-contained file (inline CSS, script and SVG; no
 * network access, enforced by its Content-Security-Policy) with the layers as
 * collapsible groups, the Graphviz picture, and a details panel that shows a clicked
 * node's op, params, shape, dtype, source line, inputs, consumers and gradient origin.
 *
 * Takes a Graph; returns the HTML text. Layers follow the DOT writer's rule (see
 * `layers.ts`), so the list and the picture's clusters hold the same ops. The graph travels as
 * JSON in a `<script type="application/json">` element with `<` escaped, and the script
 * only ever sets text, so no name in the graph can inject markup.
 */
import { Op } from "../ops.js";
import type { Graph } from "../graph/graph.js";
import { consumersOf } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import type { DotOptions } from "../graph/dot.js";
import { compactShape, formatShape } from "../graph/shapes.js";
import { formatLoc, isKnownLoc } from "../graph/location.js";
import { graphToSvg, svgElement } from "./svg.js";
import { VIEWER_CSS, VIEWER_JS } from "./htmlAssets.js";
import { layerGroups } from "./layers.js";

export interface HtmlOptions extends Pick<DotOptions, "modelFunction" | "rankdir" | "locations"> {
  /**
   * Embed the Graphviz picture (default: when the graph has at most `maxPictureNodes`
   * nodes; Graphviz layout time grows quickly beyond that).
   */
  readonly picture?: boolean;
  /** Default 1500. */
  readonly maxPictureNodes?: number;
  /** Page title (default: the graph's name). */
  readonly title?: string;
}

/** A node as the viewer's script sees it. */
export interface ViewNode {
  readonly id: number;
  readonly op: Op;
  /** `%8 matmul`, or a leaf's name. */
  readonly label: string;
  readonly type: string;
  readonly shape: string;
  readonly dtype: string;
  readonly params: readonly (readonly [string, string])[];
  readonly loc: string | null;
  /** The user's enclosing functions, innermost first. */
  readonly functions: readonly string[];
  readonly inputs: readonly number[];
  readonly consumers: readonly number[];
  readonly origin: { readonly id: number | null; readonly text: string; readonly loc: string | null } | null;
  /** Index into `layers`, or -1. */
  readonly layer: number;
  /** Output names this node is returned as. */
  readonly outputs: readonly string[];
}

export interface ViewData {
  readonly name: string;
  readonly nodes: readonly ViewNode[];
  readonly layers: readonly { readonly label: string; readonly nodes: readonly number[] }[];
}

const valueText = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(valueText).join(", ")}]`;
  if (typeof v === "object" && v !== null) return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${valueText(x)}`).join(", ")} }`;
  return String(v);
};

const paramsOf = (n: Node): [string, string][] => {
  if (n.op === Op.Constant) {
    const vs = n.params.values;
    return [["values", vs.length <= 12 ? valueText(vs) : `${valueText(vs.slice(0, 12)).slice(0, -1)}, … ${vs.length} values]`]];
  }
  if (n.op === Op.Input) return [["name", n.params.name]];
  if (n.op === Op.Param) return [["name", n.params.name], ...(n.params.init === undefined ? [] : [["init", valueText(n.params.init)] as [string, string]])];
  return Object.entries(n.params as Readonly<Record<string, unknown>>).map(([k, v]) => [k, valueText(v)]);
};

const locOf = (n: Node): string | null => (isKnownLoc(n.loc) ? formatLoc(n.loc) : null);

/**
 * The data the viewer shows: nodes with their links, and the layers.
 * @example graphViewData(buildGraph({ loss }, "mlp")).layers.map((l) => l.label) // ["dense #1", "dense #2"]
 */
export const graphViewData = (g: Graph, options: Pick<DotOptions, "modelFunction"> = {}): ViewData => {
  const { clusters, of } = layerGroups(g, options.modelFunction);
  const consumers = consumersOf(g);
  const id = (n: Node): number => g.ids.get(n)!;
  const label = (n: Node): string => (n.op === Op.Input || n.op === Op.Param ? n.params.name : `%${id(n)} ${n.op}`);
  const nodes = g.nodes.map((n, i): ViewNode => {
    const o = n.origin;
    const originId = o === undefined ? undefined : g.ids.get(o);
    return {
      id: i,
      op: n.op,
      label: label(n),
      type: `${n.dtype}${compactShape(n.shape)}`,
      shape: formatShape(n.shape),
      dtype: n.dtype,
      params: paramsOf(n),
      loc: locOf(n),
      functions: n.loc?.functions ?? [],
      inputs: n.inputs.map(id),
      consumers: (consumers.get(n) ?? []).map(id),
      origin: o === undefined ? null : { id: originId ?? null, text: originId === undefined ? `${o.op} ${o.dtype}${compactShape(o.shape)}` : label(o), loc: locOf(o) },
      layer: of.get(n) ?? -1,
      outputs: g.outputs.flatMap((x, k) => (x === n ? [g.outputNames[k] ?? `out${k}`] : [])),
    };
  });
  return { name: g.name, nodes, layers: clusters.map((c, k) => ({ label: c.label, nodes: nodes.filter((n) => n.layer === k).map((n) => n.id) })) };
};

const escapeHtml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JSON safe inside a `<script>` element: no `<` (so no `</script>`), no line separators. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/**
 * Writes the self-contained HTML viewer of a graph.
 * @example
 * writeFileSync("mlp.html", await graphToHtml(buildGraph({ logits, loss }, "mlp")));
 */
export const graphToHtml = async (g: Graph, options: HtmlOptions = {}): Promise<string> => {
  const data = graphViewData(g, options);
  const picture = options.picture ?? g.nodes.length <= (options.maxPictureNodes ?? 1500);
  const dotOptions: DotOptions = {
    ...(options.modelFunction === undefined ? {} : { modelFunction: options.modelFunction }),
    ...(options.rankdir === undefined ? {} : { rankdir: options.rankdir }),
    ...(options.locations === undefined ? {} : { locations: options.locations }),
  };
  const svg = picture ? svgElement(await graphToSvg(g, dotOptions)) : `<p class="none">The picture is left out for ${g.nodes.length} nodes; use the list.</p>`;
  const title = options.title ?? g.name;
  const gradients = g.nodes.filter((n) => n.origin !== undefined).length;
  const stats = `${g.nodes.length} nodes · ${data.layers.length} layers${gradients > 0 ? ` · ${gradients} gradient nodes` : ""}`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)} · typegrad graph</title>`,
    `<style>${VIEWER_CSS}</style>`,
    "</head>",
    "<body>",
    "<header>",
    `<h1>${escapeHtml(title)}</h1>`,
    `<span class="stats">${escapeHtml(stats)}</span>`,
    '<span class="spacer"></span>',
    '<input id="filter" type="search" placeholder="Filter nodes (op, name, shape, line)" aria-label="Filter nodes">',
    '<button id="expand-all" type="button">Expand all</button>',
    '<button id="collapse-all" type="button">Collapse all</button>',
    "</header>",
    "<main>",
    '<nav id="tree" aria-label="Layers and nodes"></nav>',
    `<div id="picture">${svg}</div>`,
    '<aside id="details" aria-live="polite"><p class="hint">Click a node, in the list or in the picture, to see its details.</p></aside>',
    "</main>",
    `<script id="graph-data" type="application/json">${scriptJson(data)}</script>`,
    `<script>${VIEWER_JS}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
};
