/**
 * Graph pictures: DOT text rendered to SVG by Graphviz compiled to WebAssembly
 * (`@hpcc-js/wasm-graphviz`), so no native `dot` binary is needed.
 *
 * Takes DOT text or a Graph; returns SVG text. The same DOT always gives the same SVG.
 * The Graphviz package (800 kB of JavaScript and WebAssembly) is imported and instantiated
 * on first use only (about 0.1 s), so importing typegrad does not pay for it.
 */
import type { Graphviz } from "@hpcc-js/wasm-graphviz";
import type { Graph } from "../graph/graph.js";
import { graphToDot, type DotOptions } from "../graph/dot.js";

let graphviz: Promise<Graphviz> | undefined;

/** DOT that Graphviz refused; `message` is Graphviz's own reason. */
export class RenderError extends Error {
  override readonly name = "RenderError";
}

/**
 * Lays out DOT text with Graphviz's `dot` engine and returns the SVG document.
 * @example
 * const svg = await dotToSvg('digraph { a -> b }'); // "<?xml ...><svg ...>...</svg>"
 */
export const dotToSvg = async (dot: string): Promise<string> => {
  graphviz ??= import("@hpcc-js/wasm-graphviz").then((m) => m.Graphviz.load());
  const gv = await graphviz;
  try {
    return gv.dot(dot, "svg");
  } catch (e) {
    throw new RenderError(`Graphviz could not lay out the DOT text: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * The picture of a graph: nodes with op, shape and source line, layers as clusters,
 * gradient nodes in red with dashed links to their forward origins (see `graphToDot`).
 * @example
 * writeFileSync("mlp.svg", await graphToSvg(buildGraph({ loss }, "mlp")));
 */
export const graphToSvg = async (g: Graph, options: DotOptions = {}): Promise<string> => dotToSvg(graphToDot(g, options));

/**
 * The `<svg>` element alone (no XML prolog, doctype or comments), for inlining in HTML.
 * @example svgElement(await graphToSvg(g)).startsWith("<svg") // true
 */
export const svgElement = (svg: string): string => {
  const start = svg.indexOf("<svg");
  if (start < 0) throw new RenderError("the text holds no <svg> element");
  return svg.slice(start).replace(/<!--[\s\S]*?-->\n?/g, "").trim();
};
