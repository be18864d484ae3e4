/**
 * The text form of a graph: one SSA line per node with dtype, shape and source line.
 *
 * Takes a Graph; returns a string that is stable across runs (ids are deterministic,
 * params print in a fixed order), so it can be used in inline snapshots.
 *
 *   graph mlp(x: f32[batch,2], W1: f32[2,4]) {
 *     %2: f32[batch,4] = matmul x W1        # examples/seed-mlp.ts:14
 *     return %2
 *   }
 */
import { Op } from "../ops.js";
import type { Graph } from "./graph.js";
import type { Node } from "./node.js";
import { compactShape } from "./shapes.js";
import { formatLoc, isKnownLoc } from "./location.js";

export interface TextOptions {
  /** Print source locations (default true). */
  readonly locations?: boolean;
}

const MAX_CONSTANT_VALUES = 6;

const formatValue = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(",")}]`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  return String(v);
};

/** `[axes=[1], keepdims]`: false flags are omitted, true flags print by name. */
export const formatParams = (node: Node): string => {
  if (node.op === Op.Input || node.op === Op.Param || node.op === Op.Constant) return "";
  const parts = Object.entries(node.params as Record<string, unknown>).flatMap(([k, v]) =>
    v === false ? [] : v === true ? [k] : [`${k}=${formatValue(v)}`],
  );
  return parts.length === 0 ? "" : `[${parts.join(", ")}]`;
};

const formatConstant = (values: readonly number[]): string => {
  const shown = values.slice(0, MAX_CONSTANT_VALUES).map(formatValue).join(", ");
  if (values.length === 1) return shown;
  return values.length > MAX_CONSTANT_VALUES ? `[${shown}, … ${values.length} values]` : `[${shown}]`;
};

export const typeText = (n: Node): string => `${n.dtype}${compactShape(n.shape)}`;

/** How an operand is referenced: leaves by name, everything else by %id. */
export const refOf = (g: Graph, n: Node): string =>
  n.op === Op.Input || n.op === Op.Param ? n.params.name : `%${g.ids.get(n) ?? "?"}`;

const originText = (g: Graph, n: Node): string | undefined => {
  const o = n.origin;
  if (o === undefined) return undefined;
  const id = g.ids.get(o);
  return id !== undefined ? `grad of %${id}` : `grad of ${o.op} ${typeText(o)}`;
};

/** Prints a graph in the documented text form. */
export const graphToText = (g: Graph, options: TextOptions = {}): string => {
  const withLoc = options.locations ?? true;
  const leaves = g.nodes.filter((n) => n.op === Op.Input || n.op === Op.Param);
  const header = `graph ${g.name}(${leaves.map((n) => `${refOf(g, n)}: ${typeText(n)}`).join(", ")}) {`;
  const body = g.nodes
    .filter((n) => n.op !== Op.Input && n.op !== Op.Param)
    .map((n) => {
      const rhs =
        n.op === Op.Constant
          ? `constant ${formatConstant(n.params.values)}`
          : [`${n.op}${formatParams(n)}`, ...n.inputs.map((i) => refOf(g, i))].join(" ");
      const code = `  %${g.ids.get(n)}: ${typeText(n)} = ${rhs}`;
      const notes = [originText(g, n), withLoc && isKnownLoc(n.loc) ? formatLoc(n.loc) : undefined].filter(
        (s): s is string => s !== undefined,
      );
      return { code, note: notes.join(" · ") };
    });
  const width = Math.min(56, Math.max(0, ...body.map((l) => l.code.length)));
  const lines = body.map((l) => (l.note === "" ? l.code : `${l.code.padEnd(width)}  # ${l.note}`));
  const ret =
    g.outputs.length === 1 && g.outputNames[0] === "out"
      ? `  return ${refOf(g, g.outputs[0]!)}`
      : `  return ${g.outputs.map((o, i) => `${g.outputNames[i] ?? `out${i}`}=${refOf(g, o)}`).join(", ")}`;
  return [header, ...lines, ret, "}"].join("\n");
};
