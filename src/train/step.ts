/**
 * The training step as one graph: `(params, optimizer state, batch, lr, step) ->
 * (params', optimizer state', loss, metrics)`.
 *
 * Takes a scalar loss built from param and input leaves, the params to train and an
 * optimizer; returns a Graph whose outputs are the loss, the requested metrics, every
 * new param and every new state slot, plus the names that tie leaves to outputs.
 */
import { Op, type DType, type FloatDType } from "../ops.js";
import type { Node } from "../graph/node.js";
import { buildGraph, type Graph } from "../graph/graph.js";
import { input } from "../dsl/constructors.js";
import { grad } from "../autodiff.js";
import { wrap, type AnyTensor } from "../tensor.js";
import { clipByGlobalNorm, type Optimizer } from "./optimizers.js";
import { collectParams } from "../nn/init.js";

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
  const params = collectParams(spec.params);
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
  return {
    graph: buildGraph(outputs, spec.name ?? "trainStep"),
    paramNames: params.map(paramName),
    stateLeaves,
    lrInput: "opt.lr",
    stepInput: "opt.step",
    metricNames: Object.keys(spec.metrics ?? {}),
  };
};

const paramName = (n: Node): string => (n.op === Op.Param ? n.params.name : "");
