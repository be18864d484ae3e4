/**
 * The training step as one graph: `(params, optimizer state, batch, lr, step) ->
 * (params', optimizer state', loss, metrics)`.
 *
 * Takes a scalar loss built from param and input leaves, the params to train and an
 * optimizer; returns a Graph whose outputs are the loss, the requested metrics, every
 * new param and every new state slot, plus the names that tie leaves to outputs.
 * Model state (say, batch norm's running statistics) is given as `state` updates: those
 * param leaves are not trained, and the step outputs their next values as
 * `state:<param name>` next to the optimizer's `state:opt.<slot>.<param>`.
 */
import { Op, type DType, type FloatDType } from "../ops.js";
import type { Node } from "../graph/node.js";
import { buildGraph, type Graph } from "../graph/graph.js";
import { input } from "../dsl/constructors.js";
import { grad } from "../autodiff.js";
import { wrap, type AnyTensor } from "../tensor.js";
import { clipByGlobalNorm, type Optimizer } from "./optimizers.js";
import { collectParams } from "../nn/init.js";
import type { StateUpdate } from "../nn/state.js";

export interface TrainStepSpec {
  /** Scalar loss built from the model's params and inputs. */
  readonly loss: AnyTensor;
  /** Params to train: a tree of param tensors (records/arrays), e.g. the model's param record. */
  readonly params: unknown;
  readonly optimizer: Optimizer;
  /** Clip gradients to this global L2 norm before the update. */
  readonly clipNorm?: number;
  /** Extra outputs computed in the same program, e.g. `{ logits }` for accuracy. */
  readonly metrics?: Readonly<Record<string, AnyTensor>>;
  /** Model state updates (from layers such as batchNorm in training mode): these params are not trained. */
  readonly state?: readonly StateUpdate[];
  readonly name?: string;
}

export interface TrainStepGraph {
  readonly graph: Graph;
  /** Trained param names, in order. */
  readonly paramNames: readonly string[];
  /** Optimizer state leaves: input name, the param it belongs to, its slot. */
  readonly stateLeaves: readonly { readonly input: string; readonly param: string; readonly slot: string }[];
  readonly lrInput: string;
  readonly stepInput: string;
  readonly metricNames: readonly string[];
  /** Model state params (not trained), in order; the step outputs each one's next value as `stepOutputs.state(name)`. */
  readonly stateNames: readonly string[];
}

/** Output names of the step graph. */
export const stepOutputs = {
  loss: "loss",
  metric: (name: string): string => `metric:${name}`,
  param: (name: string): string => `param:${name}`,
  state: (input: string): string => `state:${input}`,
} as const;

/** Input name of an optimizer state slot. */
export const stateInputName = (slot: string, param: string): string => `opt.${slot}.${param}`;

/** Builds the training-step graph. Throws if the loss is not a float scalar or a param is missing. */
export const buildTrainStep = (spec: TrainStepSpec): TrainStepGraph => {
  const loss = spec.loss;
  if (loss.node.shape.length !== 0) throw new Error(`buildTrainStep: the loss must be a scalar, got shape [${loss.node.shape.join(", ")}]`);
  const stateUpdates = checkStateUpdates(spec.state ?? []);
  const stateNames = new Set(stateUpdates.map((u) => paramName(u.state.node)));
  const params = collectParams(spec.params).filter((p) => !stateNames.has(paramName(p)));
  if (params.length === 0) throw new Error("buildTrainStep: no params to train");
  const dtype = loss.node.dtype as FloatDType;
  const paramTensors = params.map((p) => wrap(p) as AnyTensor);
  const rawGrads = grad(loss, paramTensors) as AnyTensor[];
  const grads = spec.clipNorm === undefined ? rawGrads : clipByGlobalNorm(rawGrads, spec.clipNorm);
  const lr = input("opt.lr", [], dtype);
  const step = input("opt.step", [], dtype);
  const outputs: Record<string, AnyTensor> = { [stepOutputs.loss]: loss };
  for (const [k, m] of Object.entries(spec.metrics ?? {})) outputs[stepOutputs.metric(k)] = m;
  const stateLeaves: { input: string; param: string; slot: string }[] = [];
  params.forEach((p, i) => {
    const name = paramName(p);
    const state: Record<string, AnyTensor> = {};
    for (const slot of spec.optimizer.slots) {
      const inputName = stateInputName(slot, name);
      state[slot] = input(inputName, p.shape as readonly (number | string)[] as never, p.dtype as DType);
      stateLeaves.push({ input: inputName, param: name, slot });
    }
    const out = spec.optimizer.update({ param: paramTensors[i]!, grad: grads[i]!, state, lr, step });
    outputs[stepOutputs.param(name)] = out.param;
    for (const slot of spec.optimizer.slots) {
      const next = out.state[slot];
      if (next === undefined) throw new Error(`optimizer ${spec.optimizer.name} returned no '${slot}' state`);
      outputs[stepOutputs.state(stateInputName(slot, name))] = next;
    }
  });
  for (const u of stateUpdates) outputs[stepOutputs.state(paramName(u.state.node))] = u.next;
  return {
    graph: buildGraph(outputs, spec.name ?? "trainStep"),
    paramNames: params.map(paramName),
    stateLeaves,
    lrInput: "opt.lr",
    stepInput: "opt.step",
    metricNames: Object.keys(spec.metrics ?? {}),
    stateNames: stateUpdates.map((u) => paramName(u.state.node)),
  };
};

/** State updates must name distinct param leaves and keep their shape and dtype. */
const checkStateUpdates = (updates: readonly StateUpdate[]): readonly StateUpdate[] => {
  const seen = new Set<string>();
  for (const u of updates) {
    const leaf = u.state.node;
    if (leaf.op !== Op.Param) throw new Error(`buildTrainStep: state must be param leaves, got a ${leaf.op} node`);
    const name = leaf.params.name;
    if (seen.has(name)) throw new Error(`buildTrainStep: state '${name}' is updated twice`);
    seen.add(name);
    const next = u.next.node;
    if (next.dtype !== leaf.dtype || next.shape.length !== leaf.shape.length || next.shape.some((d, i) => d !== leaf.shape[i]))
      throw new Error(`buildTrainStep: the next value of state '${name}' is ${next.dtype}[${next.shape.join(", ")}], the state is ${leaf.dtype}[${leaf.shape.join(", ")}]`);
  }
  return updates;
};

const paramName = (n: Node): string => (n.op === Op.Param ? n.params.name : "");
