/**
 * Helpers for the ONNX tests: an ONNX Runtime session factory, seeded feeds drawn from
 * the op-spec domains, op-spec rows retyped to other dtypes, and a graph runner that
 * evaluates the same graph in typegrad and in ONNX Runtime.
 */
import * as E from "fp-ts/lib/Either.js";
import * as ort from "onnxruntime-node";
import * as tg from "../../src/index.js";
import { Op, type DType } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import type { Graph } from "../../src/graph/graph.js";
import { inferShape } from "../../compiler/rules/shape.js";
import { topologicalOrder } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { ortSessionFactory } from "../../compiler/onnx/session.js";
import { compareValues } from "../../compiler/onnx/parity.js";
import { exportOnnx } from "../../src/deploy.js";
import type { OnnxExportOptions } from "../../compiler/onnx/export.js";
import type { Domain, OpSpecRow } from "../support/opspec.js";

/** Sessions on ONNX Runtime's CPU provider, one thread (the machine is shared), errors-only logging (a test breaks shapes on purpose). */
export const openOrt = ortSessionFactory(ort, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });

/** mulberry32: a small seeded generator, so failures reproduce. */
export const seeded = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** `n` values from a domain; i32 versions of float domains are small integers. */
export const sample = (domain: Domain, n: number, dtype: DType, rand: () => number): number[] => {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  if (dtype === "bool" || domain.kind === "bool") return Array.from({ length: n }, () => int(0, 1));
  switch (domain.kind) {
    case "index":
      return Array.from({ length: n }, () => int(0, domain.size - 1));
    case "real":
      return Array.from({ length: n }, () => (dtype === "i32" ? int(-6, 6) : domain.lo + rand() * (domain.hi - domain.lo)));
    case "awayFromZero":
      return Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1) * (dtype === "i32" ? int(1, 6) : domain.lo + rand() * (domain.hi - domain.lo)));
    case "distinct": {
      if (dtype === "i32") return Array.from({ length: n }, () => int(-4, 4));
      const slots = Array.from({ length: n }, (_, i) => -domain.hi + ((i + 0.5 + (rand() - 0.5) * 0.5) * 2 * domain.hi) / n);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [slots[i], slots[j]] = [slots[j]!, slots[i]!];
      }
      return slots;
    }
  }
};

/** The graph of `root` with every f64 (leaves, constants, cast and oneHot targets) as `to`; undefined if a rule rejects it. */
export const retype = (root: Node, to: DType): Node | undefined => {
  const memo = new Map<Node, Node | undefined>();
  const visit = (n: Node): Node | undefined => {
    if (memo.has(n)) return memo.get(n);
    const inputs = n.inputs.map(visit);
    let result: Node | undefined;
    if (inputs.every((i): i is Node => i !== undefined)) {
      const p = n.params as { readonly dtype?: DType };
      const params = p.dtype === "f64" ? { ...n.params, dtype: to } : n.params;
      const rule = inferShape(n.op, inputs, params as never);
      result = E.isRight(rule) ? makeNode({ op: n.op, params: params as never, inputs, shape: rule.right.shape, dtype: rule.right.dtype, loc: n.loc }) : undefined;
    }
    memo.set(n, result);
    return result;
  };
  return visit(root);
};

/** The row's graph (inputs `in0`, `in1`, ...) in `dtype`, or undefined when the rules reject that dtype. */
export const rowVariant = (row: OpSpecRow, dtype: DType): Node | undefined => {
  const root = row.build(row.inputs.map((s, i) => tg.input(`in${i}`, s.shape, s.dtype))).node;
  return dtype === "f64" ? root : retype(root, dtype);
};

type Leaf = Extract<Node, { op: "input" | "param" }>;

/** Seeded feeds for every leaf under `root`: `in<i>` from the row's domains, others from [-2, 2]. */
export const rowFeeds = (row: OpSpecRow, root: Node, rand: () => number): Record<string, TensorValue> => {
  const feeds: Record<string, TensorValue> = {};
  for (const leaf of topologicalOrder([root]).filter((n): n is Leaf => n.op === Op.Input || n.op === Op.Param)) {
    const shape = leaf.shape as readonly number[];
    const spec = /^in(\d+)$/.exec(leaf.params.name);
    const domain: Domain = spec === null ? { kind: "real", lo: -2, hi: 2 } : row.inputs[Number(spec[1])]!.domain;
    feeds[leaf.params.name] = tensorValue(leaf.dtype, shape, sample(domain, shape.reduce((a, b) => a * b, 1), leaf.dtype, rand));
  }
  return feeds;
};

/** Values from a seeded uniform in [lo, hi). */
export const uniformValue = (dtype: DType, shape: readonly number[], rand: () => number, lo = -1, hi = 1): TensorValue =>
  tensorValue(dtype, shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + rand() * (hi - lo)));

/** Exports `graph`, runs it in ONNX Runtime on the graph-input subset of `feeds`, and returns the outputs by name. */
export const runInOrt = async (
  graph: Graph,
  feeds: Readonly<Record<string, TensorValue>>,
  options: OnnxExportOptions = {},
): Promise<Record<string, TensorValue>> => {
  const session = await openOrt(exportOnnx(graph, options));
  try {
    const wanted = new Set(session.inputNames);
    return await session.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => wanted.has(k))));
  } finally {
    await session.release();
  }
};

/** typegrad's outputs of `graph` by name. */
export const runInTypegrad = (graph: Graph, feeds: Readonly<Record<string, TensorValue>>): Record<string, TensorValue> => {
  const values = tg.evaluate(graph.outputs, feeds, { allowExtraFeeds: true });
  return Object.fromEntries(graph.outputNames.map((n, i) => [n, values[i]!]));
};

/** Largest |a - b| / max(1, |b|) over the outputs both runs have. */
export const largestError = (actual: Readonly<Record<string, TensorValue>>, expected: Readonly<Record<string, TensorValue>>): number =>
  Math.max(0, ...Object.entries(expected).map(([k, v]) => (actual[k] === undefined ? Infinity : compareValues(actual[k], v).maxError)));
