/**
 * The optimization pipeline.
 *
 * Takes a graph (typically a gradient graph); checks it with `verifyGraph`, then runs
 *   eliminateCommonSubexpressions -> foldConstants -> simplifyAlgebra ->
 *   eliminateCommonSubexpressions -> eliminateDeadNodes
 * in rounds until a round changes nothing (at most `maxRounds`, default 4). Returns the
 * optimized graph and the node count before and after each pass, or the first
 * CompileError. With `verify` (tests, debug), `verifyGraph` also runs after every pass,
 * and an error names the pass that broke the graph. Same outputs, output names, values,
 * shapes and dtypes as the input graph (see each pass for the exact guarantee).
 */
import * as E from "fp-ts/lib/Either.js";
import type { Graph } from "../src/graph/graph.js";
import type { Node } from "../src/graph/node.js";
import { compileError, type CompileError } from "./errors.js";
import { verifyGraph } from "./passes/verifyGraph.js";
import { eliminateCommonSubexpressions } from "./passes/eliminateCommonSubexpressions.js";
import { foldConstantsWith, type FoldOptions } from "./passes/foldConstants.js";
import { simplifyAlgebra } from "./passes/simplifyAlgebra.js";
import { eliminateDeadNodes } from "./passes/eliminateDeadNodes.js";

export interface OptimizeOptions {
  /** Run `verifyGraph` after every pass (tests, debug mode). Default false. */
  readonly verify?: boolean;
  /** Most rounds of the pass sequence. Default 4. */
  readonly maxRounds?: number;
  /** Options of `foldConstants` (element limit, evaluator). */
  readonly fold?: FoldOptions;
}

/**
 * One pass run: how many nodes the graph had before and after it. Rewrites leave replaced
 * nodes for eliminateDeadNodes, so `reachableAfter` (nodes the outputs depend on) shows a
 * rewriting pass's own effect.
 */
export interface PassStat {
  readonly pass: string;
  readonly round: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly reachableAfter: number;
}

export interface Optimized {
  readonly graph: Graph;
  readonly stats: readonly PassStat[];
}

type Pass = (g: Graph) => E.Either<CompileError, Graph>;

const reachableCount = (g: Graph): number => {
  const seen = new Set<Node>();
  const stack = [...g.outputs];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...n.inputs);
  }
  return seen.size;
};

/** A fingerprint of a graph's structure: equal fingerprints mean a round changed nothing. */
const fingerprint = (g: Graph): string => `${g.nodes.map((n) => n.hash).join(",")}|${g.outputs.map((o) => o.hash).join(",")}`;

/**
 * Verifies, then simplifies a graph to a fixed point.
 * @example
 * const { graph, stats } = orThrow(optimizeGraph(buildGraph(grads), { verify: true }));
 * console.log(formatPassStats(stats)); // one row per pass: nodes before, after, reachable after
 */
export const optimizeGraph = (g: Graph, options: OptimizeOptions = {}): E.Either<CompileError, Optimized> => {
  const sequence: readonly (readonly [string, Pass])[] = [
    ["eliminateCommonSubexpressions", eliminateCommonSubexpressions],
    ["foldConstants", foldConstantsWith(options.fold)],
    ["simplifyAlgebra", simplifyAlgebra],
    ["eliminateCommonSubexpressions", eliminateCommonSubexpressions],
    ["eliminateDeadNodes", eliminateDeadNodes],
  ];
  const checked = verifyGraph(g);
  if (E.isLeft(checked)) return checked;
  const stats: PassStat[] = [];
  let graph = g;
  const maxRounds = options.maxRounds ?? 4;
  for (let round = 1; round <= maxRounds; round++) {
    const before = fingerprint(graph);
    for (const [pass, run] of sequence) {
      const next = run(graph);
      if (E.isLeft(next)) return next;
      if (options.verify === true) {
        const ok = verifyGraph(next.right);
        if (E.isLeft(ok)) return E.left(compileError(pass, "internal", `left an invalid graph: ${ok.left.message}`));
      }
      stats.push({ pass, round, nodesBefore: graph.nodes.length, nodesAfter: next.right.nodes.length, reachableAfter: reachableCount(next.right) });
      graph = next.right;
    }
    if (fingerprint(graph) === before) break;
  }
  return E.right({ graph, stats });
};

/**
 * Node counts as a Markdown table, one row per pass run.
 * @example formatPassStats(stats) // "| round | pass | nodes before | nodes after | reachable after |\n| --- | ..."
 */
export const formatPassStats = (stats: readonly PassStat[]): string =>
  [
    "| round | pass | nodes before | nodes after | reachable after |",
    "| ---: | --- | ---: | ---: | ---: |",
    ...stats.map((s) => `| ${s.round} | ${s.pass} | ${s.nodesBefore} | ${s.nodesAfter} | ${s.reachableAfter} |`),
  ].join("\n");
