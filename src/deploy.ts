/**
 * Deployment: ONNX export of inference graphs and whole training steps.
 *
 * `exportOnnx` and `exportTrainStep` return the bytes of a standard ONNX model (IR 8,
 * opset 18) that ONNX Runtime and other engines load; they throw an `OnnxExportError`
 * listing every problem (each naming the node and its source line) when a graph cannot
 * be exported, before anything is written.
 */
import * as E from "fp-ts/lib/Either.js";
import { buildGraph, type Graph } from "./graph/graph.js";
import type { AnyTensor } from "./tensor.js";
import type { TensorValue } from "../runtime/value.js";
import type { TrainStepGraph } from "./train/step.js";
import { stepOutputs } from "./train/step.js";
import { formatExportProblems, graphToOnnx, type OnnxExportOptions, type OnnxExportProblem } from "../compiler/onnx/export.js";
import { encodeModel } from "../compiler/onnx/protobuf.js";
import { loadCheckpoint } from "./train/checkpoint.js";

/**
 * A graph cannot be exported to ONNX. `problems` lists each reason; the message has one
 * line per problem, naming the node (id, op, dtype, shape) and its source file:line.
 * @example
 * try { exportOnnx(graph) } catch (e) { if (e instanceof OnnxExportError) console.error(e.problems.length) }
 */
export class OnnxExportError extends Error {
  override readonly name = "OnnxExportError";
  constructor(
    readonly graphName: string,
    readonly problems: readonly OnnxExportProblem[],
    message: string,
  ) {
    super(message);
  }
}

/** A compiled program (from `compile`): its graph is exported. */
interface HasGraph {
  readonly graph: Graph;
  readonly run: unknown;
}

/** What `exportOnnx` accepts: a built graph, a compiled program, a tensor, a list of tensors or a record of named tensors. */
export type Exportable = Graph | HasGraph | AnyTensor | readonly AnyTensor[] | Readonly<Record<string, AnyTensor>>;

const isGraph = (x: Exportable): x is Graph => typeof x === "object" && x !== null && "nodes" in x && "outputs" in x && "ids" in x;
const isProgram = (x: Exportable): x is HasGraph => typeof x === "object" && x !== null && "graph" in x && "run" in x && isGraph((x as HasGraph).graph);

const graphOf = (model: Exportable, name: string): Graph =>
  isGraph(model) ? model : isProgram(model) ? model.graph : buildGraph(model as AnyTensor | readonly AnyTensor[] | Readonly<Record<string, AnyTensor>>, name);

const exportGraph = (g: Graph, options: OnnxExportOptions): Uint8Array => {
  const r = graphToOnnx(g, options);
  if (E.isLeft(r)) throw new OnnxExportError(g.name, r.left, formatExportProblems(g, r.left));
  return encodeModel(r.right.model);
};

/**
 * Exports a model to ONNX bytes. Params given in `options.params` become initializers,
 * the others graph inputs; inputs keep their names and symbolic dims become named
 * dynamic dims; outputs keep their names (a record's keys, `out` for one tensor).
 * @example
 * const x = input("x", [sym("batch"), 4], "f32");
 * const bytes = exportOnnx({ probs: softmax(model(x)) }, { params: state.params });
 * const session = await ort.InferenceSession.create(bytes);
 */
export const exportOnnx = (model: Exportable, options: OnnxExportOptions & { readonly graphName?: string } = {}): Uint8Array =>
  exportGraph(graphOf(model, options.graphName ?? "model"), options);

/**
 * Exports a model with the params of a saved checkpoint as initializers (every param of
 * the model must be in the checkpoint; other tensors in it are ignored). Throws a
 * CheckpointError for a bad file and an OnnxExportError for a param that is missing or
 * does not match.
 * @example
 * writeFileSync("mnist.onnx", exportCheckpointOnnx({ logits }, "out/mnist.safetensors"));
 */
export const exportCheckpointOnnx = (model: Exportable, checkpointFile: string, options: Omit<OnnxExportOptions, "params" | "paramsAs"> & { readonly graphName?: string } = {}): Uint8Array => {
  const graph = graphOf(model, options.graphName ?? "model");
  const saved = loadCheckpoint(checkpointFile).params;
  const params = Object.fromEntries(graph.nodes.flatMap((n) => (n.op === "param" && saved.has(n.params.name) ? [[n.params.name, saved.get(n.params.name)!]] : [])));
  return exportGraph(graph, { ...options, params, paramsAs: "initializers" });
};

/** Param values (and optimizer state), as in a `TrainState`. */
export interface StepState {
  readonly params: Readonly<Record<string, TensorValue>>;
  /** Optimizer state keyed by input name (`opt.<slot>.<param>`); not stored in the model. */
  readonly optimizer?: Readonly<Record<string, TensorValue>>;
}

export interface TrainStepExportOptions {
  /**
   * "inputs" (default): params are graph inputs, so a loop can feed each step's
   * `param:<name>` outputs back as the next step's params (`state`, when given, is only
   * checked against the step's params). "initializers": params are fixed initializers
   * from `state.params`, and the model computes steps from that one point.
   */
  readonly paramsAs?: "inputs" | "initializers";
  readonly name?: string;
}

/**
 * Exports the training step built by `buildTrainStep` (or a trainer's `stepGraph`) as one
 * ONNX model: inputs are the batch, `opt.lr`, `opt.step`, the optimizer state
 * `opt.<slot>.<param>` (zeros before the first step) and, by default, the params; outputs
 * are `loss`, `metric:<name>`, `param:<name>` and `state:<input>`. The metadata entry
 * `typegrad.feedback` (JSON) maps each output to the input it feeds on the next step.
 * @example
 * const bytes = exportTrainStep(trainer.stepGraph);
 * // each step: feed the batch, opt.lr, opt.step, the params and opt.*; read back param:* and state:*
 */
export const exportTrainStep = (step: TrainStepGraph, state?: StepState, options: TrainStepExportOptions = {}): Uint8Array => {
  const paramsAs = options.paramsAs ?? "inputs";
  const feedback: Record<string, string> = {};
  if (paramsAs === "inputs") for (const p of step.paramNames) feedback[stepOutputs.param(p)] = p;
  // Model state (batch-norm running statistics) is a param input its own output feeds.
  if (paramsAs === "inputs") for (const n of step.stateNames) feedback[stepOutputs.state(n)] = n;
  for (const s of step.stateLeaves) feedback[stepOutputs.state(s.input)] = s.input;
  return exportGraph(step.graph, {
    paramsAs,
    ...(state === undefined ? {} : { params: pick(state.params, [...step.paramNames, ...step.stateNames]) }),
    ...(options.name === undefined ? {} : { name: options.name }),
    metadata: { "typegrad.feedback": JSON.stringify(feedback), "typegrad.lrInput": step.lrInput, "typegrad.stepInput": step.stepInput },
  });
};

/** The entries of `values` named in `names` (missing ones are left for the exporter to report). */
const pick = (values: Readonly<Record<string, TensorValue>>, names: readonly string[]): Record<string, TensorValue> =>
  Object.fromEntries(names.flatMap((n) => (values[n] === undefined ? [] : [[n, values[n]]])));
