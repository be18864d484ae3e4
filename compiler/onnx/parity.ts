/**
 * The parity tool: runs a graph in typegrad's reference interpreter and, exported, in an
 * ONNX engine, and finds the first node (in topological order) whose values differ.
 *
 * Takes a graph, feeds for all of its leaves (params too, unless they are given as
 * export values), and a session factory. Exports the graph with every intermediate value
 * as an extra output, runs both engines once, and compares node by node. Guarantees: the
 * reported node is the earliest in `graph.nodes` order beyond tolerance, so every node
 * it depends on agreed; the error measure is |a - b| / max(1, |b|) with b the typegrad
 * value (NaN matches NaN, an infinity matches itself only); shapes must match exactly.
 */
import * as E from "fp-ts/lib/Either.js";
import type { DType, Op, RuntimeShape } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import type { Node } from "../../src/graph/node.js";
import type { SourceLoc } from "../../src/graph/location.js";
import { formatShape } from "../../src/graph/shapes.js";
import { evaluate } from "../../runtime/interpret.js";
import type { TensorValue } from "../../runtime/value.js";
import { describeNode, formatExportProblems, graphToOnnx, type OnnxExportOptions } from "./export.js";
import { encodeModel } from "./protobuf.js";
import type { OnnxRuleTable } from "./rules.js";
import type { OnnxSessionFactory } from "./session.js";

/** Default tolerances: the f32 1e-5 and f64 1e-10; integers and masks exact. */
export const PARITY_TOLERANCE: Readonly<Record<DType, number>> = { f32: 1e-5, f64: 1e-10, i32: 0, bool: 0 };

export interface ValueComparison {
  /** Largest |a - b| / max(1, |b|) over the elements (Infinity for a shape mismatch or NaN vs number). */
  readonly maxError: number;
  /** Row-major index of the element with that error (-1 when the values agree exactly or shapes differ). */
  readonly index: number;
}

const elementError = (a: number, b: number): number => {
  if (a === b || (a !== a && b !== b)) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  return Math.abs(a - b) / Math.max(1, Math.abs(b));
};

/**
 * Compares an engine's value `actual` with typegrad's `expected`.
 * @example compareValues(tensorValue("f32", [2], [1, 2.5]), tensorValue("f32", [2], [1, 2])) // { maxError: 0.25, index: 1 }
 */
export const compareValues = (actual: TensorValue, expected: TensorValue): ValueComparison => {
  const sameShape = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!sameShape || actual.data.length !== expected.data.length) return { maxError: Infinity, index: -1 };
  let maxError = 0;
  let index = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const e = elementError(actual.data[i]!, expected.data[i]!);
    if (e > maxError) {
      maxError = e;
      index = i;
    }
  }
  return { maxError, index };
};

export interface NodeDivergence {
  readonly node: Node;
  readonly id: number;
  readonly op: Op;
  readonly dtype: DType;
  /** Declared shape (symbolic dims by name) and the concrete shapes of both results. */
  readonly shape: RuntimeShape;
  readonly typegradShape: readonly number[];
  readonly onnxShape: readonly number[];
  readonly inputShapes: readonly (readonly number[])[];
  readonly loc: SourceLoc | undefined;
  readonly maxError: number;
  readonly index: number;
  readonly typegradValue: number | undefined;
  readonly onnxValue: number | undefined;
  /** A one-line description naming the node, op, shapes, source line and error. */
  readonly message: string;
}

export interface ParityReport {
  /** The earliest node beyond tolerance, or undefined when every node agrees. */
  readonly firstDivergence: NodeDivergence | undefined;
  /** Non-leaf nodes compared. */
  readonly compared: number;
  /** Largest error per graph output name. */
  readonly outputErrors: Readonly<Record<string, number>>;
  /** Largest error over all compared nodes. */
  readonly maxError: number;
}

export interface ParityOptions {
  /** Per-dtype tolerance on |a - b| / max(1, |b|) (defaults: PARITY_TOLERANCE). */
  readonly tolerance?: Partial<Readonly<Record<DType, number>>>;
  /** Export options (e.g. param values, which then need not be in the feeds). */
  readonly exportOptions?: OnnxExportOptions;
  /** Replaces the mapping table (to test the tool, or to try out a candidate rule). */
  readonly rules?: OnnxRuleTable;
}

/**
 * Finds the first node whose ONNX value diverges from typegrad's.
 * @example
 * const report = await findFirstDivergence(graph, { x, ...params }, ortSessionFactory(ort));
 * if (report.firstDivergence) console.log(report.firstDivergence.message);
 */
export const findFirstDivergence = async (
  graph: Graph,
  feeds: Readonly<Record<string, TensorValue>>,
  openSession: OnnxSessionFactory,
  options: ParityOptions = {},
): Promise<ParityReport> => {
  const exportOptions: OnnxExportOptions = { ...options.exportOptions, exposeIntermediates: true };
  const exported = graphToOnnx(graph, exportOptions, options.rules);
  if (E.isLeft(exported)) throw new Error(formatExportProblems(graph, exported.left));
  const { model, intermediateOutputs } = exported.right;

  const expected = new Map<Node, TensorValue>();
  const allFeeds = { ...(options.exportOptions?.params ?? {}), ...feeds };
  evaluate(graph.outputs, allFeeds, { onNode: (n, v) => expected.set(n, v), allowExtraFeeds: true });

  const session = await openSession(encodeModel(model));
  const graphInputs = new Set(model.graph.inputs.map((i) => i.name));
  const onnxFeeds = Object.fromEntries(Object.entries(allFeeds).filter(([k]) => graphInputs.has(k)));
  let actual: Record<string, TensorValue>;
  try {
    actual = await session.run(onnxFeeds, model.graph.outputs.map((o) => o.name));
  } finally {
    await session.release();
  }

  const tolerance = { ...PARITY_TOLERANCE, ...options.tolerance };
  let firstDivergence: NodeDivergence | undefined;
  let compared = 0;
  let maxError = 0;
  const errors = new Map<Node, number>();
  for (const node of graph.nodes) {
    const name = intermediateOutputs.get(node);
    const want = expected.get(node);
    if (name === undefined || want === undefined) continue;
    const got = actual[name]!;
    const c = compareValues(got, want);
    compared++;
    errors.set(node, c.maxError);
    maxError = Math.max(maxError, c.maxError);
    if (firstDivergence === undefined && c.maxError > tolerance[node.dtype])
      firstDivergence = divergence(graph, node, got, want, c, expected);
  }
  const outputErrors = Object.fromEntries(graph.outputNames.map((name, i) => [name, errors.get(graph.outputs[i]!) ?? 0]));
  return { firstDivergence, compared, outputErrors, maxError };
};

const divergence = (g: Graph, node: Node, got: TensorValue, want: TensorValue, c: ValueComparison, values: ReadonlyMap<Node, TensorValue>): NodeDivergence => {
  const inputShapes = node.inputs.map((i) => values.get(i)?.shape ?? []);
  const at = c.index >= 0 ? ` at element ${c.index}: onnx ${got.data[c.index]} vs typegrad ${want.data[c.index]}` : ` (onnx shape ${formatShape(got.shape)} vs typegrad ${formatShape(want.shape)})`;
  return {
    node,
    id: g.ids.get(node)!,
    op: node.op,
    dtype: node.dtype,
    shape: node.shape,
    typegradShape: want.shape,
    onnxShape: got.shape,
    inputShapes,
    loc: node.loc,
    maxError: c.maxError,
    index: c.index,
    typegradValue: c.index >= 0 ? want.data[c.index] : undefined,
    onnxValue: c.index >= 0 ? got.data[c.index] : undefined,
    message: `first divergence at ${describeNode(g, node)} (inputs ${inputShapes.map((s) => formatShape(s)).join(", ") || "none"}): max error ${c.maxError}${at}`,
  };
};
