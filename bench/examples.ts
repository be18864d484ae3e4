/**
 * Compile time of the examples' training steps: each example's loss and params (from
 * `examples/`) built into a trainer step graph (Adam or SGD, as the example trains), then
 * compiled. Reports the graph size before and after optimization, the time to compile and
 * the time of the first run (which builds the execution plan for the batch size).
 */
import * as tg from "../src/index.js";
import { compile } from "../runtime/program.js";
import { allocate, type TensorValue } from "../runtime/value.js";
import * as seed from "../examples/seed-mlp.js";
import * as iris from "../examples/iris.js";
import * as mnist from "../examples/mnist-mlp.js";
import { markdownTable } from "./measure.js";

interface ExampleStep {
  readonly name: string;
  readonly loss: tg.AnyTensor;
  readonly params: unknown;
  readonly optimizer: tg.Optimizer;
  readonly batch: number;
}

const EXAMPLES: readonly ExampleStep[] = [
  { name: "seed-mlp 2-4-1, SGD", loss: seed.loss, params: seed.params, optimizer: tg.sgd(), batch: 2 },
  { name: "iris 4-16-3, Adam", loss: iris.loss, params: iris.params, optimizer: tg.adam(), batch: 16 },
  { name: "mnist-mlp 784-256-256-10, Adam", loss: mnist.loss, params: mnist.params, optimizer: tg.adam(), batch: 64 },
];

/** Zero feeds for every leaf of a graph, symbolic dims bound to `batch`. */
const zeroFeeds = (graph: tg.Graph, batch: number): Record<string, TensorValue> => {
  const feeds: Record<string, TensorValue> = {};
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const shape = n.shape.map((d) => (typeof d === "number" ? d : batch));
    feeds[n.params.name] = { dtype: n.dtype, shape, data: allocate(n.dtype, shape.reduce((a, b) => a * b, 1)) };
  }
  return feeds;
};

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)}`;

/**
 * The compile-time table.
 * @example console.log(benchExampleCompiles());
 */
export const benchExampleCompiles = (): string => {
  const rows = EXAMPLES.map((ex) => {
    const step = tg.buildTrainStep({ loss: ex.loss, params: ex.params, optimizer: ex.optimizer });
    let t0 = performance.now();
    const program = compile(step.graph);
    const compileMs = ms(t0);
    const feeds = zeroFeeds(step.graph, ex.batch);
    t0 = performance.now();
    program.run(feeds);
    const firstRunMs = ms(t0);
    return [ex.name, String(step.graph.nodes.length), String(program.graph.nodes.length), compileMs, firstRunMs, String(ex.batch)];
  });
  return `### Compile time of the examples' training steps (ms)\n\n${markdownTable(["training step", "nodes", "after optimize", "compile ms", "first run ms (plan + run)", "batch"], rows)}`;
};
