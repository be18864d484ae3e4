/**
 * Parameter initialization from a seeded RNG.
 *
 * Takes param tensors (anywhere inside a record/array tree, or a graph's params) whose
 * nodes carry an `InitSpec`; returns their values keyed by param name. Params are filled
 * in name order from one stream, so the same seed gives bit-identical values.
 */
import { Op, type DType, type InitSpec, type RuntimeShape } from "../ops.js";
import type { Node } from "../graph/node.js";
import type { Graph } from "../graph/graph.js";
import { formatShape } from "../graph/shapes.js";
import { rngFromSeed, withRng, type RngState, type RngStream } from "../random.js";
import { allocate, type TensorValue } from "../../runtime/value.js";

/** Param values keyed by param name. */
export type ParamValues = Readonly<Record<string, TensorValue>>;

const isTensorLike = (v: unknown): v is { readonly node: Node } =>
  typeof v === "object" && v !== null && "node" in v && typeof (v as { node: unknown }).node === "object";

/** All param leaves inside a tree of records/arrays of tensors (or a graph), unique by name. */
export const collectParams = (tree: unknown): Node[] => {
  if (typeof tree === "object" && tree !== null && "nodes" in tree && "outputs" in tree) {
    return (tree as Graph).nodes.filter((n) => n.op === Op.Param);
  }
  const found = new Map<string, Node>();
  const visit = (v: unknown): void => {
    if (isTensorLike(v)) {
      if (v.node.op === Op.Param) found.set(v.node.params.name, v.node);
      return;
    }
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
  };
  visit(tree);
  return [...found.values()];
};

/** (fanIn, fanOut) by the convention documented on `InitSpec`. */
export const fans = (shape: readonly number[]): [number, number] => {
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  if (shape.length >= 3) {
    const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
    return [shape[1]! * receptive, shape[0]! * receptive];
  }
  const n = shape.reduce((a, b) => a * b, 1);
  return [n, n];
};

const concreteShape = (name: string, shape: RuntimeShape): number[] => {
  if (shape.some((d) => typeof d !== "number")) throw new Error(`initParams: param '${name}' has symbolic shape ${formatShape(shape)}`);
  return shape as number[];
};

const fill = (spec: InitSpec, shape: readonly number[], out: Float32Array | Float64Array | Int32Array | Uint8Array, r: RngStream): void => {
  const [fanIn, fanOut] = fans(shape);
  const draw = (f: () => number): void => {
    for (let i = 0; i < out.length; i++) out[i] = f();
  };
  switch (spec.kind) {
    case "zeros":
      return;
    case "ones":
      out.fill(1);
      return;
    case "constant":
      out.fill(spec.value);
      return;
    case "normal":
      return draw(() => r.nextNormal(spec.mean, spec.std));
    case "uniform":
      return draw(() => r.nextUniform(spec.low, spec.high));
    case "glorotUniform": {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return draw(() => r.nextUniform(-limit, limit));
    }
    case "glorotNormal":
      return draw(() => r.nextNormal(0, Math.sqrt(2 / (fanIn + fanOut))));
    case "heNormal":
      return draw(() => r.nextNormal(0, Math.sqrt(2 / fanIn)));
    case "heUniform": {
      const limit = Math.sqrt(6 / fanIn);
      return draw(() => r.nextUniform(-limit, limit));
    }
  }
};

/**
 * Values for every param under `tree`, from `seed` (a number or an RNG state). Params
 * without an `init` spec start at zero. Returns the values and the RNG state after them.
 * @example
 * const p = mlp.init("mlp", [2, 4, 1]);
 * const [values] = initParams(p, 42);
 */
export const initParams = (tree: unknown, seed: number | RngState): [ParamValues, RngState] => {
  const params = collectParams(tree).sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  const start = typeof seed === "number" ? rngFromSeed(seed) : seed;
  return withRng(start, (r) => {
    const values: Record<string, TensorValue> = {};
    for (const p of params) {
      if (p.op !== Op.Param) continue;
      const shape = concreteShape(p.params.name, p.shape);
      const data = allocate(p.dtype as DType, shape.reduce((a, b) => a * b, 1));
      fill(p.params.init ?? { kind: "zeros" }, shape, data, r);
      values[p.params.name] = { dtype: p.dtype, shape, data };
    }
    return values;
  });
};

const nameOf = (n: Node): string => (n.op === Op.Param ? n.params.name : "");
