/**
 * Runs a graph's outputs from feeds, returning them by output name. The training loop
 * and evaluators go through this one function, so the executor behind it is chosen in
 * one place: a compiled program (optimized, fused, memory-planned; one plan per batch
 * size), or the reference interpreter when `executor: "interpret"`.
 */
import type { Graph } from "../graph/graph.js";
import { evaluate } from "../../runtime/interpret.js";
import { compile, type CompileOptions } from "../../runtime/program.js";
import type { TensorValue } from "../../runtime/value.js";

export interface Runner {
  readonly graph: Graph;
  /** Outputs by name; `reuse` (by output name) offers arrays the outputs may overwrite. */
  readonly run: (feeds: Readonly<Record<string, TensorValue>>, reuse?: Readonly<Record<string, TensorValue>>) => Readonly<Record<string, TensorValue>>;
}

export interface RunnerOptions {
  /** "compile" (default): a compiled program; "interpret": the node-by-node reference. */
  readonly executor?: "compile" | "interpret";
  readonly compile?: CompileOptions;
}

/** A runner for `graph`. Feeds that name no leaf of the graph are ignored. */
export const makeRunner = (graph: Graph, options: RunnerOptions = {}): Runner => {
  if (options.executor === "interpret") {
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
  }
  const program = compile(graph, { ...options.compile, allowExtraFeeds: true });
  return { graph, run: (feeds, reuse) => program.runNamed(feeds, reuse === undefined ? {} : { reuse }) };
};
