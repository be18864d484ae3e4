/**
 * Runs a graph's outputs from feeds, returning them by output name. The training loop
 * and evaluators go through this one function, so the executor behind it can change
 * without touching them.
 */
import type { Graph } from "../graph/graph.js";
import { evaluate } from "../../runtime/interpret.js";
import type { TensorValue } from "../../runtime/value.js";

export interface Runner {
  readonly graph: Graph;
  readonly run: (feeds: Readonly<Record<string, TensorValue>>) => Readonly<Record<string, TensorValue>>;
}

/** A runner for `graph`. Feeds that name no leaf of the graph are ignored. */
export const makeRunner = (graph: Graph): Runner => {
  const leafNames = new Set(graph.nodes.flatMap((n) => (n.op === "input" || n.op === "param" ? [n.params.name] : [])));
  return {
    graph,
    run: (feeds) => {
      const used: Record<string, TensorValue> = {};
      for (const [k, v] of Object.entries(feeds)) if (leafNames.has(k)) used[k] = v;
      const values = evaluate(graph.outputs, used);
      return Object.fromEntries(graph.outputNames.map((name, i) => [name, values[i]!]));
    },
  };
};
