/**
 * Layer groups for summaries and the HTML view.
 *
 * Takes a Graph; returns the DOT writer's layer clusters (`clusterNodes`: functions
 * called by the model function, one cluster per call) with one addition: a param or
 * constant made outside every layer (say, a module-level `params` record) joins the layer
 * in which all its consumers are, so each layer's parameter count includes the weights it
 * uses. Inputs stay outside layers. Deterministic; depends only on the graph.
 */
import { Op } from "../ops.js";
import { consumersOf, type Graph } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { clusterNodes, type Cluster } from "../graph/dot.js";

export interface LayerGroups {
  readonly clusters: readonly Cluster[];
  /** Each grouped node's index into `clusters`. */
  readonly of: ReadonlyMap<Node, number>;
}

/**
 * Groups a graph's nodes by layer.
 * @example layerGroups(buildGraph({ logits }), "model").clusters.map((c) => c.label) // ["hidden #1", "hidden #2", "output"]
 */
export const layerGroups = (g: Graph, modelFunction?: string): LayerGroups => {
  const { clusters, of } = clusterNodes(g, modelFunction);
  const consumers = consumersOf(g);
  for (const n of g.nodes) {
    if ((n.op !== Op.Param && n.op !== Op.Constant) || of.has(n)) continue;
    const homes = new Set((consumers.get(n) ?? []).map((u) => of.get(u)));
    const [only] = homes;
    if (homes.size === 1 && only !== undefined) of.set(n, only);
  }
  return { clusters, of };
};
