/**
 * Compiled programs: `compile(graph)` once, then `program.run(feeds)` many times.
 *
 * Takes a graph (and optionally which of its outputs to compute). Compiling verifies the
 * graph, optimizes it (`optimizeGraph`, unless turned off), fuses elementwise chains
 * into generated loops and decides each node's step and storage (`programSchedule.ts`).
 * Each run binds the symbolic dims from the feeds with the same checks and messages as
 * the interpreter (`bind.ts`), then reuses the execution plan of that binding, building it
 * on first use (`programPlan.ts`: shape checks, memory plan, arena, matmul plans).
 * Guarantees: the same values as the reference interpreter (`evaluate`) on the same
 * feeds, up to the rewrites of the optimizer (bit for bit with `optimize: false`); outputs
 * have the declared dtype and the bound shape, are fresh arrays on every run and share no
 * data with the feeds; feeds are never written. Errors: FeedError for bad feeds,
 * ShapeError for shapes that fail after binding, CompileFailure for invalid graphs,
 * ValidationError for unknown output names.
 */
import * as E from "fp-ts/lib/Either.js";
import { buildGraphE, type Graph } from "../src/graph/graph.js";
import type { Node } from "../src/graph/node.js";
import { ValidationError } from "../src/errors.js";
import { optimizeGraph, type OptimizeOptions } from "../compiler/pipeline.js";
import { verifyGraph } from "../compiler/passes/verifyGraph.js";
import { fuseElementwise } from "../compiler/passes/fuseElementwise.js";
import { orThrow } from "../compiler/errors.js";
import { bindFeeds, type DimBindings } from "./bind.js";
import type { TensorValue } from "./value.js";
import { scheduleGraph, type Schedule } from "./programSchedule.js";
import { buildPlan, type BuiltPlan, type ExecutionPlan, type StepTiming } from "./programPlan.js";
import { wasmProgramBackend } from "./wasm/backend.js";

export type { ExecutionPlan, PlannedStep, StepTiming } from "./programPlan.js";

export interface CompileOptions {
  /** Names of the graph outputs to compute (default: all, in the graph's order). */
  readonly outputs?: readonly string[];
  /** Run the optimizer (CSE, constant folding, algebraic simplification, DCE) first. Default true. */
  readonly optimize?: boolean | OptimizeOptions;
  /** Accept feeds that name no leaf of the compiled graph (default false: usually a misspelling). */
  readonly allowExtraFeeds?: boolean;
  /** Execution plans kept (one per binding of the symbolic dims; least recently used dropped first). Default 8. */
  readonly maxPlans?: number;
  /**
   * Kernels: "wasm" runs f32 matmuls and vectorizable fused groups as generated WebAssembly
   * SIMD (the default wherever the engine validates SIMD); "js" runs everything on the
   * TypeScript reference kernels.
   */
  readonly backend?: "wasm" | "js";
  /** Threads for large matmuls on the wasm backend (default: `TYPEGRAD_THREADS`, else the machine's cores). */
  readonly threads?: number;
}

export interface RunOptions {
  /** Values whose arrays the outputs may overwrite, by output position. */
  readonly reuse?: readonly (TensorValue | undefined)[];
}

/** A compiled graph. Reusable and cheap to run; holds one arena per cached binding. */
export interface Program {
  /** The graph that runs: the selected outputs, verified and (by default) optimized. */
  readonly graph: Graph;
  readonly outputNames: readonly string[];
  /** Names of the leaves every run must feed (inputs and params of the selected outputs' graph, as declared). */
  readonly feedNames: readonly string[];
  /** Generated source of each fused elementwise loop, for inspection. */
  readonly fusedSources: readonly string[];
  /** The kernels the program runs on: "wasm" (generated SIMD where it applies, JavaScript elsewhere) or "js". */
  readonly backend: "wasm" | "js";
  /**
   * Outputs in `outputNames` order, in fresh arrays; `options.reuse` may hand back values
   * the caller no longer needs (e.g. outputs of an earlier run) whose arrays are then
   * overwritten with this run's outputs when dtype and size match (no allocation).
   */
  run(feeds: Readonly<Record<string, TensorValue>>, options?: RunOptions): TensorValue[];
  /** Outputs keyed by output name; `options.reuse` is keyed by output name too. */
  runNamed(feeds: Readonly<Record<string, TensorValue>>, options?: { readonly reuse?: Readonly<Record<string, TensorValue>> }): Record<string, TensorValue>;
  /** The execution plan the feeds select (built and cached if new): steps, memory plan, peakBytes. */
  plan(feeds: Readonly<Record<string, TensorValue>>): ExecutionPlan;
  /**
   * Runs the program `runs` times (default 10) on `feeds`, timing each step; returns the
   * steps with their mean milliseconds, slowest first. For finding where time goes.
   */
  profile(feeds: Readonly<Record<string, TensorValue>>, runs?: number): StepTiming[];
  /** How many plans are cached (one per binding seen, at most `maxPlans`). */
  readonly planCount: number;
}

const selectOutputs = (graph: Graph, names: readonly string[] | undefined): { nodes: Node[]; names: string[] } => {
  if (names === undefined) return { nodes: [...graph.outputs], names: [...graph.outputNames] };
  if (names.length === 0) throw new ValidationError("select at least one output", "options.outputs");
  const nodes = names.map((name, i) => {
    const at = graph.outputNames.indexOf(name);
    if (at < 0) throw new ValidationError(`graph '${graph.name}' has no output '${name}' (its outputs are ${graph.outputNames.map((n) => `'${n}'`).join(", ")})`, `options.outputs[${i}]`);
    return graph.outputs[at]!;
  });
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new ValidationError(`output '${repeated}' is selected twice`, "options.outputs");
  return { nodes, names: [...names] };
};

/** The selected outputs' graph before and after optimization. */
const prepare = (graph: Graph, options: CompileOptions): { declared: Graph; compiled: Graph } => {
  const selected = selectOutputs(graph, options.outputs);
  const built = buildGraphE(selected.nodes, { name: graph.name, outputNames: selected.names });
  if (E.isLeft(built)) throw new ValidationError(built.left.message, "graph");
  const declared = built.right;
  const optimize = options.optimize ?? true;
  if (optimize === false) return { declared, compiled: orThrow(verifyGraph(declared)) };
  return { declared, compiled: orThrow(optimizeGraph(declared, optimize === true ? {} : optimize)).graph };
};

const bindingKey = (bindings: DimBindings): string => [...bindings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(",");

/**
 * Compiles a graph into a reusable program.
 * @example
 * const x = input("x", [sym("batch"), 784]);
 * const W = param("W", [784, 10]);
 * const program = compile(buildGraph({ probs: softmax(matmul(x, W)) }));
 * const { probs } = program.runNamed({ x: batch, W: weights });
 * program.plan({ x: batch, W: weights }).peakBytes; // arena bytes for this batch size
 */
export const compile = (graph: Graph, options: CompileOptions = {}): Program => {
  const maxPlans = options.maxPlans ?? 8;
  if (!Number.isSafeInteger(maxPlans) || maxPlans < 1) throw new ValidationError(`maxPlans must be a positive integer, got ${maxPlans}`, "options.maxPlans");
  const { declared, compiled } = prepare(graph, options);
  const fusion = orThrow(fuseElementwise(compiled));
  const schedule: Schedule = scheduleGraph(compiled, fusion);
  if (options.backend !== undefined && options.backend !== "wasm" && options.backend !== "js")
    throw new ValidationError(`backend must be "wasm" or "js", got ${JSON.stringify(options.backend)}`, "options.backend");
  if (options.threads !== undefined && (!Number.isSafeInteger(options.threads) || options.threads < 1))
    throw new ValidationError(`threads must be a positive integer, got ${options.threads}`, "options.threads");
  const fast = options.backend === "js" ? undefined : wasmProgramBackend(schedule, options.threads === undefined ? {} : { threads: options.threads });
  // Feeds are checked against the leaves the user's graph declares, even those the optimizer removed.
  const leaves = declared.nodes.filter((n) => n.op === "input" || n.op === "param");
  const plans = new Map<string, BuiltPlan>();
  const bindOptions = { allowExtraFeeds: options.allowExtraFeeds ?? false };

  const planFor = (feeds: Readonly<Record<string, TensorValue>>): BuiltPlan => {
    const bound = bindFeeds(leaves, feeds, bindOptions);
    if (E.isLeft(bound)) throw bound.left;
    const key = bindingKey(bound.right);
    const cached = plans.get(key);
    if (cached !== undefined) {
      // Most recently used last, so eviction takes the first key.
      plans.delete(key);
      plans.set(key, cached);
      return cached;
    }
    const built = buildPlan(schedule, bound.right, fast);
    plans.set(key, built);
    if (plans.size > maxPlans) plans.delete(plans.keys().next().value!);
    return built;
  };

  const run = (feeds: Readonly<Record<string, TensorValue>>, runOptions: RunOptions = {}): TensorValue[] => planFor(feeds).execute(feeds, runOptions.reuse);
  return {
    graph: compiled,
    outputNames: compiled.outputNames,
    feedNames: leaves.map((l) => (l.op === "input" || l.op === "param" ? l.params.name : "")),
    fusedSources: schedule.steps.flatMap((s) => (s.kind === "fused" ? [s.emitted.source] : [])),
    backend: fast === undefined ? "js" : "wasm",
    run,
    runNamed: (feeds, runOptions = {}) => {
      const reuse = runOptions.reuse;
      const values = run(feeds, reuse === undefined ? {} : { reuse: compiled.outputNames.map((name) => reuse[name]) });
      return Object.fromEntries(compiled.outputNames.map((name, i) => [name, values[i]!]));
    },
    plan: (feeds) => planFor(feeds).info,
    profile: (feeds, runs = 10) => {
      if (!Number.isSafeInteger(runs) || runs < 1) throw new ValidationError(`runs must be a positive integer, got ${runs}`, "runs");
      return planFor(feeds).profile(feeds, runs);
    },
    get planCount() {
      return plans.size;
    },
  };
};
