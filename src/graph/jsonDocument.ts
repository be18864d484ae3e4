/**
 * The graph JSON document (format "typegrad.graph", version 1) as types and io-ts codecs.
 *
 * Takes untrusted values; the codec guarantees the document's structure: every field
 * present with the right type and range, no unknown fields, each node's params valid
 * for its op. Relations between nodes (ids, references, shapes) are checked by
 * `graphFromJson` after decoding.
 */
import * as t from "io-ts";
import { ALL_OPS, type DType, type Op, type OpParams, type RuntimeShape } from "../ops.js";
import type { SourceLoc } from "./location.js";
import {
  GRAPH_JSON_LIMITS,
  boundedArray,
  boundedString,
  closedRecord,
  describeValue,
  integer,
  literal,
  makeCodec,
  optional,
  shape,
  taggedUnion,
  type Codec,
} from "./jsonCodecs.js";
import { dtype, paramsCodecs } from "./jsonParams.js";

/** The `format` tag of every graph document. */
export const GRAPH_JSON_FORMAT = "typegrad.graph";
/** The document version this library writes and reads. */
export const GRAPH_JSON_VERSION = 1;

/** One node of the document: `id` is its position (graph nodes, then detached nodes). */
export interface NodeDocOf<K extends Op> {
  readonly id: number;
  readonly op: K;
  readonly params: OpParams[K];
  /** Ids of the inputs, each smaller than `id`. */
  readonly inputs: readonly number[];
  readonly shape: RuntimeShape;
  readonly dtype: DType;
  readonly loc?: SourceLoc;
  /** For gradient nodes: the id of the forward node whose gradient rule made this node. */
  readonly origin?: number;
}

/** A node of the document, discriminated by `op`. */
export type NodeDoc = { [K in Op]: NodeDocOf<K> }[Op];

export interface OutputDoc {
  readonly name: string;
  readonly id: number;
}

/** The whole document. */
export interface GraphDocument {
  readonly format: typeof GRAPH_JSON_FORMAT;
  readonly version: typeof GRAPH_JSON_VERSION;
  readonly name: string;
  /** The graph's nodes in id order: `nodes[i].id === i`. */
  readonly nodes: readonly NodeDoc[];
  /**
   * Nodes outside the graph that gradient nodes name as their origin (and the inputs and
   * origins those need); `detachedNodes[k].id === nodes.length + k`.
   */
  readonly detachedNodes?: readonly NodeDoc[];
  readonly outputs: readonly OutputDoc[];
}

const nodeId = integer(0, GRAPH_JSON_LIMITS.maxNodes - 1);

export const sourceLocCodec: Codec<SourceLoc> = closedRecord<SourceLoc>("a source location", {
  file: boundedString("a file name"),
  line: integer(0, GRAPH_JSON_LIMITS.maxDim),
  column: integer(0, GRAPH_JSON_LIMITS.maxDim),
  functions: optional(boundedArray("a list of function names", boundedString("a function name"), GRAPH_JSON_LIMITS.maxFunctions)),
});

const nodeCodecOf = <K extends Op>(op: K): Codec<NodeDocOf<K>> =>
  closedRecord<NodeDocOf<K>>(`a ${op} node`, {
    id: nodeId,
    op: literal(op),
    params: paramsCodecs[op],
    inputs: boundedArray("a list of input ids", nodeId, GRAPH_JSON_LIMITS.maxInputs),
    shape,
    dtype,
    loc: optional(sourceLocCodec),
    origin: optional(nodeId),
  });

type NodeCodecs = { readonly [K in Op]: Codec<Extract<NodeDoc, { readonly op: K }>> };
// Built from ALL_OPS (every member of Op), so the table is complete.
const nodeCodecs = Object.fromEntries(ALL_OPS.map((op) => [op, nodeCodecOf(op)])) as unknown as NodeCodecs;

/** A node: its `op` picks the params codec. */
export const nodeCodec: Codec<NodeDoc> = taggedUnion<NodeDoc, "op">("a node", "op", nodeCodecs);

const version: Codec<typeof GRAPH_JSON_VERSION> = makeCodec(
  "version",
  (u, c) =>
    u === GRAPH_JSON_VERSION
      ? t.success(GRAPH_JSON_VERSION)
      : t.failure(u, c, `this reader reads version ${GRAPH_JSON_VERSION} documents, got version ${describeValue(u)}`),
  (a) => a,
);

const format: Codec<typeof GRAPH_JSON_FORMAT> = makeCodec(
  "format",
  (u, c) =>
    u === GRAPH_JSON_FORMAT
      ? t.success(GRAPH_JSON_FORMAT)
      : t.failure(u, c, `expected ${JSON.stringify(GRAPH_JSON_FORMAT)} (this is not a typegrad graph document), got ${describeValue(u)}`),
  (a) => a,
);

const nodeList = (what: string): Codec<readonly NodeDoc[]> => boundedArray(what, nodeCodec, GRAPH_JSON_LIMITS.maxNodes);

/** The document codec: structure, types, ranges and per-op params. */
export const graphDocumentCodec: Codec<GraphDocument> = closedRecord<GraphDocument>("a graph document", {
  format,
  version,
  name: boundedString("a graph name"),
  nodes: nodeList("a list of nodes"),
  detachedNodes: optional(nodeList("a list of detached nodes")),
  outputs: boundedArray(
    "a list of outputs",
    closedRecord<OutputDoc>("an output", { name: boundedString("an output name"), id: nodeId }),
    GRAPH_JSON_LIMITS.maxNodes,
  ),
});
