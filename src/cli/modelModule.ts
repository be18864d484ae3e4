/**
 * The model-module convention of the CLI, and the graphs it builds from a module.
 *
 * A model module (TypeScript or JavaScript) exports:
 * - `inputs`: the input signature, a record from input name to an `input(...)` tensor or
 *   to `{ shape, dtype }` (dims are sizes or symbolic names such as "batch"; dtype
 *   defaults to "f32"), and
 * - `model`: a function from the record of input tensors to the output: a tensor, an
 *   array of tensors, or a record of named tensors;
 * - or instead `graph`: a built Graph, a tensor, or a record of named tensors;
 * - optionally `loss`: a scalar tensor, or a function `(outputs, inputs) => scalar`;
 * - optionally `params`: the tree of params to differentiate (default: every param);
 * - optionally `name`: the graph's name (default: the file name).
 * Untrusted exports are checked with io-ts; a bad one gives a CliError naming its path
 * (`module.inputs.x.shape[1]`).
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { basename, extname } from "node:path";
import { DTYPES, Op, type DType, type RuntimeShape } from "../ops.js";
import { buildGraph, graphParams, type Graph } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { input } from "../dsl/constructors.js";
import { wrap, type AnyTensor } from "../tensor.js";
import { grad } from "../autodiff.js";
import { collectParams } from "../nn/init.js";
import type { Shape } from "../types/dims.js";
import { CliError } from "./errors.js";
import { importModuleFile } from "./loadModule.js";

/** A model module, loaded and checked. */
export interface ModelModule {
  readonly file: string;
  readonly name: string;
  /** Outputs of the model, then `loss` when the module has one. */
  readonly forward: Graph;
  readonly loss: AnyTensor | undefined;
  /** Params to differentiate with respect to. */
  readonly params: readonly Node[];
  /** The model function's name, for grouping layers (undefined for a `graph` export). */
  readonly modelFunction: string | undefined;
}

const isTensor = (x: unknown): x is AnyTensor =>
  typeof x === "object" && x !== null && "node" in x && typeof (x as { node: unknown }).node === "object" && (x as { node: { op?: unknown } }).node !== null && "op" in (x as { node: object }).node;
const isGraph = (x: unknown): x is Graph => typeof x === "object" && x !== null && "nodes" in x && "outputs" in x && "ids" in x;

const dimCodec = t.union([
  t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, "a size (non-negative integer)"),
  t.refinement(t.string, (s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s), "a symbolic dim name"),
], "a size (a non-negative integer) or a symbolic dim name");
const dtypeCodec = t.keyof(Object.fromEntries(DTYPES.map((d) => [d, null])) as Record<DType, null>);
const inputSpecCodec = t.intersection([t.type({ shape: t.array(dimCodec) }), t.partial({ dtype: dtypeCodec })]);

/** The path and message of the first decoding error, skipping io-ts's union and intersection levels. */
const firstProblem = (errors: t.Errors): { readonly path: string; readonly message: string } => {
  const e = errors[0];
  if (e === undefined) return { path: "", message: "is not valid" };
  let path = "";
  for (let i = 1; i < e.context.length; i++) {
    const parent = e.context[i - 1]!.type;
    if (parent instanceof t.UnionType || parent instanceof t.IntersectionType) continue;
    const key = e.context[i]!.key;
    path += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  const last = e.context[e.context.length - 1]?.type;
  const parent = e.context[e.context.length - 2]?.type;
  const expected = (parent instanceof t.UnionType ? parent.name : last?.name) ?? "a value";
  return { path, message: e.message ?? `expected ${expected}, got ${JSON.stringify(e.value) ?? String(e.value)}` };
};

const fail = (path: string, message: string): never => {
  throw new CliError(`${path}: ${message}`);
};

const inputTensors = (raw: unknown, file: string): Record<string, AnyTensor> => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return fail(`${file}: module.inputs`, "must be a record from input name to an input(...) tensor or { shape, dtype }");
  const out: Record<string, AnyTensor> = {};
  for (const [name, spec] of Object.entries(raw as Record<string, unknown>)) {
    const path = `${file}: module.inputs.${name}`;
    if (isTensor(spec)) {
      if (spec.node.op !== Op.Input) fail(path, `is a ${spec.node.op} tensor; inputs are input(...) tensors`);
      out[name] = spec;
      continue;
    }
    const decoded = inputSpecCodec.decode(spec);
    if (E.isLeft(decoded)) {
      const e = firstProblem(decoded.left);
      fail(`${path}${e.path}`, e.message);
    } else out[name] = input(name, decoded.right.shape as RuntimeShape as Shape, decoded.right.dtype ?? "f32") as AnyTensor;
  }
  return out;
};

/** Named outputs from what a model returned. */
const namedOutputs = (value: unknown, path: string): Record<string, AnyTensor> => {
  if (isTensor(value)) return { out: value };
  if (Array.isArray(value)) {
    value.forEach((v, i) => isTensor(v) || fail(`${path}[${i}]`, "is not a tensor"));
    return Object.fromEntries(value.map((v, i) => [`out${i}`, v as AnyTensor]));
  }
  if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) if (!isTensor(v)) fail(`${path}.${k}`, "is not a tensor");
    if (Object.keys(value).length === 0) fail(path, "has no outputs");
    return value as Record<string, AnyTensor>;
  }
  return fail(path, `must be a tensor, an array of tensors or a record of tensors, got ${value === null ? "null" : typeof value}`);
};

const scalarLoss = (value: unknown, path: string): AnyTensor => {
  if (!isTensor(value)) return fail(path, "must be a tensor (or a function returning one)");
  if (value.node.shape.length !== 0) fail(path, `must be a scalar, got shape [${value.node.shape.join(", ")}]`);
  if (value.node.dtype !== "f32" && value.node.dtype !== "f64") fail(path, `must be f32 or f64, got ${value.node.dtype}`);
  return value;
};

/**
 * Checks a module's exports and builds its graphs (see the header for the convention).
 * @example const m = modelFromExports(await import("./mlp.js"), "mlp.js"); graphToText(m.forward);
 */
export const modelFromExports = (mod: Readonly<Record<string, unknown>>, file: string): ModelModule => {
  const name = typeof mod.name === "string" ? mod.name : isGraph(mod.graph) ? mod.graph.name : basename(file, extname(file)).replace(/[^A-Za-z0-9_]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase());
  let outputs: Record<string, AnyTensor>;
  let inputs: Record<string, AnyTensor> = {};
  let modelFunction: string | undefined;
  let returned: unknown;
  if (typeof mod.model === "function") {
    if (mod.inputs === undefined) fail(`${file}: module.inputs`, "is missing: a module that exports `model` also exports its input signature `inputs`");
    inputs = inputTensors(mod.inputs, file);
    const model = mod.model as (inputs: Record<string, AnyTensor>) => unknown;
    returned = model(inputs);
    outputs = namedOutputs(returned, `${file}: module.model(inputs)`);
    modelFunction = model.name === "" ? undefined : model.name;
  } else if (mod.graph !== undefined) {
    const g = mod.graph;
    outputs = isGraph(g) ? Object.fromEntries(g.outputs.map((o, i) => [g.outputNames[i] ?? `out${i}`, wrap(o)])) : namedOutputs(g, `${file}: module.graph`);
    returned = isGraph(g) ? outputs : g;
    if (mod.inputs !== undefined) inputs = inputTensors(mod.inputs, file);
  } else {
    return fail(`${file}: module`, "exports neither `model` (a function of the inputs) nor `graph`; see `typegrad dump --help`");
  }
  let loss: AnyTensor | undefined;
  // `loss` gets the outputs as the model returned them (a tensor, an array or a record).
  if (typeof mod.loss === "function") loss = scalarLoss((mod.loss as (o: unknown, i: unknown) => unknown)(returned, inputs), `${file}: module.loss(outputs, inputs)`);
  else if (mod.loss !== undefined) loss = scalarLoss(mod.loss, `${file}: module.loss`);
  if (loss !== undefined && "loss" in outputs) fail(`${file}: module.loss`, "the model already has an output named 'loss'");
  const all = loss === undefined ? outputs : { ...outputs, loss };
  let forward: Graph;
  try {
    forward = buildGraph(all, name);
  } catch (e) {
    return fail(`${file}`, e instanceof Error ? e.message : String(e));
  }
  const params = mod.params === undefined ? graphParams(forward) : collectParams(mod.params);
  if (mod.params !== undefined && params.length === 0) fail(`${file}: module.params`, "holds no param tensors");
  return { file, name, forward, loss, params, modelFunction };
};

/** Imports and checks a model module. */
export const loadModelModule = async (file: string): Promise<ModelModule> => modelFromExports(await importModuleFile(file), file);

/**
 * The gradient graph: the loss and `grad:<param>` for every param (the loss is the
 * module's `loss`, or the model's output when it is a single scalar).
 */
export const gradientGraph = (m: ModelModule): Graph => {
  const loss = m.loss ?? (m.forward.outputs.length === 1 && m.forward.outputs[0]!.shape.length === 0 ? wrap(m.forward.outputs[0]!) : undefined);
  if (loss === undefined) throw new CliError(`${m.file}: --grad needs a scalar loss: export \`loss\` (a function (outputs, inputs) => scalar tensor), or make the model return a scalar`);
  if (m.params.length === 0) throw new CliError(`${m.file}: --grad: the model has no params to differentiate`);
  const tensors = m.params.map((p) => wrap(p) as AnyTensor);
  const grads = grad(loss, tensors) as AnyTensor[];
  const outputs: Record<string, AnyTensor> = { loss };
  m.params.forEach((p, i) => {
    outputs[`grad:${p.op === Op.Param ? p.params.name : `%${i}`}`] = grads[i]!;
  });
  return buildGraph(outputs, `${m.name}Grad`);
};
