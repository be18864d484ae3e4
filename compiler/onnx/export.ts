/**
 * The ONNX export pass: Graph -> Either<problems, ONNX model>.
 *
 * Takes a built graph, optional param values and a rule table; first checks everything
 * that ONNX cannot express or the options get wrong (every problem found, each naming
 * the node and its source line), and only then emits. Guarantees for an accepted graph:
 * a standard ModelProto (IR 8, opset 18) whose outputs keep the graph's output names and
 * compute the same values as the reference interpreter; inputs keep their names, with
 * symbolic dims as named dynamic dims (dim_param); params with values become
 * initializers, the others graph inputs; every ONNX node carries the typegrad node id,
 * op, source location (and gradient origin) in its doc_string; names are deterministic.
 * Pure: the same graph and options always give the same model.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type RuntimeShape } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import type { Node } from "../../src/graph/node.js";
import { formatLoc } from "../../src/graph/location.js";
import { compactShape, formatShape } from "../../src/graph/shapes.js";
import type { TensorValue } from "../../runtime/value.js";
import { createEmitter, ONNX_DTYPE, tensorOf, type DimSource } from "./emit.js";
import { onnxRules, type OnnxRule, type OnnxRuleTable, type RuleContext } from "./rules.js";
import type { OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from "./protobuf.js";

/** The ONNX opset and IR version written (IR 8 is the IR of opset 18). */
export const ONNX_OPSET = 18;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Param values by param name: these params become initializers (see `paramsAs`). */
  readonly params?: Readonly<Record<string, TensorValue>>;
  /**
   * Where params go. Default: initializers for params with a value, graph inputs for the
   * rest. "initializers": every param must have a value. "inputs": every param is a graph
   * input, fed on each run; given values are checked against the params but not stored
   * (ONNX Runtime's Node binding ignores feeds for inputs that also have an initializer).
   */
  readonly paramsAs?: "initializers" | "inputs";
  /** The ONNX graph's name (default: the typegrad graph's name). */
  readonly name?: string;
  readonly docString?: string;
  /** Extra model metadata (metadata_props). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Also output the value of every non-leaf node (for the parity tool). */
  readonly exposeIntermediates?: boolean;
}

/** Something ONNX cannot express or the options get wrong; `node` when one node is at fault. */
export interface OnnxExportProblem {
  readonly message: string;
  readonly node?: Node;
}

export interface OnnxExport {
  readonly model: OnnxModel;
  /** The ONNX value holding each node's result. */
  readonly valueNames: ReadonlyMap<Node, string>;
  /** With `exposeIntermediates`: the extra output of each non-leaf node, by node. */
  readonly intermediateOutputs: ReadonlyMap<Node, string>;
}

type Leaf = Extract<Node, { op: typeof Op.Input | typeof Op.Param }>;
const isLeaf = (n: Node): n is Leaf => n.op === Op.Input || n.op === Op.Param;

/**
 * How problems and doc strings name a node.
 * @example describeNode(g, node) // "%12 matmul f32[batch,4] at examples/seed-mlp.ts:14"
 */
export const describeNode = (g: Graph, n: Node): string =>
  `${isLeaf(n) ? `${n.op} '${n.params.name}'` : `%${g.ids.get(n) ?? "?"} ${n.op}`} ${n.dtype}${compactShape(n.shape)} at ${formatLoc(n.loc)}`;

const docOf = (g: Graph, n: Node): string => {
  const fns = n.loc?.functions;
  const origin = n.origin === undefined ? "" : ` · gradient of ${describeNode(g, n.origin)}`;
  return `typegrad ${describeNode(g, n)}${fns !== undefined && fns.length > 0 ? ` in ${fns.join(" < ")}` : ""}${origin}`;
};

const symbolsOf = (shape: RuntimeShape): string[] => shape.filter((d): d is string => typeof d === "string");

/** Symbolic dims a node needs at run time: those of its shape and of shape-valued params. */
const neededDims = (n: Node): string[] => {
  const paramShape = (n.params as { readonly shape?: RuntimeShape }).shape;
  return [...symbolsOf(n.shape), ...(paramShape === undefined || isLeaf(n) ? [] : symbolsOf(paramShape))];
};

const checkParamValue = (g: Graph, leaf: Leaf, v: TensorValue): string | undefined => {
  const declared = leaf.shape;
  const bad =
    v.dtype !== leaf.dtype ||
    !Array.isArray(v.shape) ||
    v.shape.length !== declared.length ||
    declared.some((d, i) => typeof d === "number" && d !== v.shape[i]) ||
    !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (bad) return `the value given for it is ${v.dtype}${formatShape(v.shape)}, but ${describeNode(g, leaf)} is declared ${leaf.dtype}${formatShape(declared)}`;
  const size = v.shape.reduce((p, d) => p * d, 1);
  if (v.data.length !== size) return `the value given for it holds ${v.data.length} elements, but its shape ${formatShape(v.shape)} needs ${size}`;
  return undefined;
};

/**
 * Every reason the graph cannot be exported with these options (empty: it can).
 * @example findExportProblems(g, { paramsAs: "initializers" }).map((p) => p.message)
 */
export const findExportProblems = (g: Graph, options: OnnxExportOptions = {}): OnnxExportProblem[] => {
  const problems: OnnxExportProblem[] = [];
  const values = options.params ?? {};
  const leaves = g.nodes.filter(isLeaf);
  const leafByName = new Map(leaves.map((l) => [l.params.name, l]));
  if (g.outputs.length === 0) problems.push({ message: `graph '${g.name}' has no outputs` });
  for (const l of leaves) if (l.params.name === "") problems.push({ node: l, message: `${describeNode(g, l)} has an empty name; ONNX values need names` });
  for (const name of Object.keys(values)) {
    const l = leafByName.get(name);
    if (l === undefined || l.op !== Op.Param)
      problems.push({ message: `params.${name}: graph '${g.name}' has no param named '${name}'${l === undefined ? "" : ` (it is an input)`}` });
  }
  for (const l of leaves) {
    if (l.op !== Op.Param) continue;
    const v = values[l.params.name];
    if (v === undefined) {
      if (options.paramsAs === "initializers")
        problems.push({ node: l, message: `params.${l.params.name}: no value given for ${describeNode(g, l)}, and paramsAs is "initializers"` });
      continue;
    }
    const bad = checkParamValue(g, l, v);
    if (bad !== undefined) problems.push({ node: l, message: `params.${l.params.name}: ${bad}` });
  }
  const seen = new Set<string>();
  g.outputNames.forEach((name, i) => {
    const out = g.outputs[i]!;
    if (name === "") problems.push({ node: out, message: `output ${i} (${describeNode(g, out)}) has an empty name` });
    if (seen.has(name)) problems.push({ node: out, message: `output name '${name}' is used twice` });
    seen.add(name);
    const leaf = leafByName.get(name);
    if (leaf !== undefined && leaf !== out)
      problems.push({ node: out, message: `output '${name}' (${describeNode(g, out)}) has the name of ${describeNode(g, leaf)}; ONNX needs distinct names` });
  });
  const bound = new Set(leaves.flatMap((l) => symbolsOf(l.shape)));
  for (const n of g.nodes) {
    if (isLeaf(n)) continue;
    const unbound = [...new Set(neededDims(n).filter((d) => !bound.has(d)))];
    if (unbound.length > 0)
      problems.push({
        node: n,
        message: `${describeNode(g, n)}: symbolic dim${unbound.length > 1 ? "s" : ""} ${unbound.map((d) => `'${d}'`).join(", ")} of ${n.op} ${formatShape((n.params as { shape?: RuntimeShape }).shape ?? n.shape)} ${unbound.length > 1 ? "are" : "is"} not the dim of any input or param, so ONNX cannot compute ${unbound.length > 1 ? "their sizes" : "its size"} at run time`,
      });
  }
  return problems;
};

/** A prefix for generated names that no leaf or output name starts with. */
const generatedPrefix = (g: Graph): string => {
  const names = [...g.nodes.filter(isLeaf).map((l) => l.params.name), ...g.outputNames];
  let prefix = "tg/";
  while (names.some((n) => n.startsWith(prefix))) prefix = `${prefix.slice(0, -1)}_/`;
  return prefix;
};

const valueInfo = (name: string, n: Node, shape: RuntimeShape, doc: string): OnnxValueInfo => ({ name, elemType: ONNX_DTYPE[n.dtype], shape, docString: doc });

/** Emits the model of a graph that `findExportProblems` accepted. */
const emitModel = (g: Graph, options: OnnxExportOptions, rules: OnnxRuleTable): OnnxExport => {
  const values = options.params ?? {};
  const prefix = generatedPrefix(g);
  const leaves = g.nodes.filter(isLeaf);
  const dimSources = new Map<string, DimSource>();
  for (const l of leaves) l.shape.forEach((d, axis) => typeof d === "string" && !dimSources.has(d) && dimSources.set(d, { value: l.params.name, axis }));
  const { emitter, begin, state } = createEmitter(prefix, dimSources);

  const inputs: OnnxValueInfo[] = [];
  const initializers: OnnxTensor[] = [];
  for (const l of leaves) {
    const v = l.op === Op.Param && options.paramsAs !== "inputs" ? values[l.params.name] : undefined;
    if (v !== undefined) initializers.push({ ...tensorOf(l.params.name, v.data, v.shape, l.dtype), docString: docOf(g, l) });
    else inputs.push(valueInfo(l.params.name, l, l.shape, docOf(g, l)));
  }

  const valueNames = new Map<Node, string>();
  for (const n of g.nodes) {
    const id = g.ids.get(n)!;
    begin(id, n.op, docOf(g, n));
    const before = state.nodes.length;
    const ctx = { node: n, inputs: n.inputs.map((i) => valueNames.get(i)!), emit: emitter } as RuleContext<Op>;
    let name = (rules[n.op] as OnnxRule<Op>)(ctx);
    const fresh = state.nodes.slice(before).some((o) => o.outputs.includes(name));
    if (!isLeaf(n) && !fresh) name = emitter.op("Identity", [name]);
    valueNames.set(n, name);
  }

  const outputs: OnnxValueInfo[] = [];
  const extra: OnnxNode[] = [];
  g.outputs.forEach((out, i) => {
    const name = g.outputNames[i]!;
    const source = valueNames.get(out)!;
    const stored = out.op === Op.Param && options.paramsAs !== "inputs" ? values[out.params.name] : undefined;
    const shape = stored?.shape ?? out.shape;
    outputs.push(valueInfo(name, out, shape, docOf(g, out)));
    if (source !== name)
      extra.push({ name: `${prefix}output.${i}`, opType: "Identity", inputs: [source], outputs: [name], attributes: [], docString: `output '${name}': ${docOf(g, out)}` });
  });
  const intermediateOutputs = new Map<Node, string>();
  if (options.exposeIntermediates === true)
    for (const n of g.nodes) {
      if (isLeaf(n)) continue;
      const name = valueNames.get(n)!;
      intermediateOutputs.set(n, name);
      outputs.push(valueInfo(name, n, n.shape, docOf(g, n)));
    }

  const model: OnnxModel = {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: "typegrad",
    producerVersion: "",
    docString: options.docString ?? "",
    graph: {
      name: options.name ?? g.name,
      nodes: [...state.nodes, ...extra],
      initializers: [...initializers, ...state.initializers],
      inputs,
      outputs,
      docString: `typegrad graph '${g.name}': ${g.nodes.length} nodes, outputs ${g.outputNames.join(", ")}`,
    },
    metadata: [["typegrad.graph", g.name], ...Object.entries(options.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))],
  };
  return { model, valueNames, intermediateOutputs };
};

/**
 * Exports a graph to an ONNX model, or every problem that prevents it (nothing is
 * emitted unless the whole graph is exportable). `rules` replaces the mapping table
 * (tests break one rule on purpose to exercise the parity tool).
 * @example
 * const r = graphToOnnx(buildGraph({ y }, "model"), { params: values });
 * if (E.isRight(r)) writeFileSync("model.onnx", encodeModel(r.right.model));
 */
export const graphToOnnx = (g: Graph, options: OnnxExportOptions = {}, rules: OnnxRuleTable = onnxRules): E.Either<readonly OnnxExportProblem[], OnnxExport> => {
  const problems = findExportProblems(g, options);
  return problems.length > 0 ? E.left(problems) : E.right(emitModel(g, options, rules));
};

/**
 * One line per problem, for error messages.
 * @example throw new Error(formatExportProblems(g, problems))
 */
export const formatExportProblems = (g: Graph, problems: readonly OnnxExportProblem[]): string =>
  `cannot export graph '${g.name}' to ONNX:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`;
