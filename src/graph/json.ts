/**
 * The JSON form of graphs: `graphToJson` writes a versioned document, `graphFromJson`
 * reads one back.
 *
 * Takes a Graph (writing) or untrusted text (reading). Reading guarantees, in order:
 * the text is within the size and nesting limits (checked before parsing), is JSON,
 * holds no `__proto__`/`constructor`/`prototype` key, matches the document codec
 * (`jsonDocument.ts`), has ids in order, references that point backwards (inputs) or at
 * existing nodes (origins, outputs) with no cycle, unique leaf and output names, and
 * constants with as many values as their shape; then every node's shape rule runs and
 * must give the stored shape and dtype. Only then are nodes made (`makeNode`) and the
 * graph assembled (`buildGraphE`). Every failure is a `GraphJsonError` naming the path
 * of the bad field; nothing throws except `parseGraphJson`.
 *
 * `graphFromJson(graphToJson(g))` is `g` again: same text dump, hashes and ids.
 */
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import { Op } from "../ops.js";
import { inferShape, type ArgInfo } from "../../compiler/rules/shape.js";
import { ValidationError } from "../errors.js";
import { buildGraphE, type Graph } from "./graph.js";
import { makeNode, sameStructure, type Node } from "./node.js";
import { compactShape, formatShape, shapesEqual, symbolicSize } from "./shapes.js";
import { formatLoc } from "./location.js";
import { FORBIDDEN_KEYS, GRAPH_JSON_LIMITS, firstError, isPlainObject, type Json } from "./jsonCodecs.js";
import {
  GRAPH_JSON_FORMAT,
  GRAPH_JSON_VERSION,
  graphDocumentCodec,
  nodeCodec,
  type GraphDocument,
  type NodeDoc,
  type NodeDocOf,
} from "./jsonDocument.js";

export { GRAPH_JSON_LIMITS } from "./jsonCodecs.js";
export { GRAPH_JSON_FORMAT, GRAPH_JSON_VERSION, type GraphDocument, type NodeDoc } from "./jsonDocument.js";

/** Why a graph document was refused: `path` names the bad field (`nodes[12].inputs[1]`), empty for the whole text. */
export interface GraphJsonError {
  readonly path: string;
  readonly message: string;
}

/**
 * The error as one line, path first.
 * @example formatGraphJsonError({ path: "nodes[3].op", message: `"tanhh" is not a known op` }) // 'nodes[3].op: "tanhh" is not a known op'
 */
export const formatGraphJsonError = (e: GraphJsonError): string => (e.path === "" ? e.message : `${e.path}: ${e.message}`);

export interface JsonOptions {
  /** Write source locations (default true). */
  readonly locations?: boolean;
}

type Result<A> = E.Either<GraphJsonError, A>;
const fail = (path: string, message: string): Result<never> => E.left({ path, message });

// ---------------------------------------------------------------- writing

/** Nodes reachable from off-graph origins (by inputs and origins), inputs first. */
const detachedNodesOf = (g: Graph, idOf: Map<Node, number>): Node[] => {
  const detached: Node[] = [];
  const queue: Node[] = g.nodes.flatMap((n) => (n.origin !== undefined && !idOf.has(n.origin) ? [n.origin] : []));
  for (let q = 0; q < queue.length; q++) {
    const stack: { node: Node; expanded: boolean }[] = [{ node: queue[q]!, expanded: false }];
    while (stack.length > 0) {
      const { node, expanded } = stack.pop()!;
      if (idOf.has(node)) continue;
      if (expanded) {
        idOf.set(node, g.nodes.length + detached.length);
        detached.push(node);
        if (node.origin !== undefined && !idOf.has(node.origin)) queue.push(node.origin);
        continue;
      }
      stack.push({ node, expanded: true });
      for (let i = node.inputs.length - 1; i >= 0; i--) if (!idOf.has(node.inputs[i]!)) stack.push({ node: node.inputs[i]!, expanded: false });
    }
  }
  return detached;
};

const toNodeDoc = (n: Node, id: number, idOf: ReadonlyMap<Node, number>, locations: boolean): NodeDoc =>
  ({
    id,
    op: n.op,
    params: n.params,
    inputs: n.inputs.map((i) => idOf.get(i)!),
    shape: n.shape,
    dtype: n.dtype,
    ...(locations && n.loc !== undefined ? { loc: n.loc } : {}),
    ...(n.origin !== undefined ? { origin: idOf.get(n.origin)! } : {}),
  }) as NodeDoc;

/**
 * The document of a graph: graph nodes in id order, then the detached nodes that
 * off-graph origins need. Throws only for a graph whose node uses an input outside it.
 * @example graphToDocument(buildGraph(tanh(x), "f")).nodes.map((n) => n.op) // ["input", "tanh"]
 */
export const graphToDocument = (g: Graph, options: JsonOptions = {}): GraphDocument => {
  const idOf = new Map<Node, number>(g.nodes.map((n, i) => [n, i]));
  for (const [i, n] of g.nodes.entries()) {
    const k = n.inputs.findIndex((x) => !idOf.has(x));
    if (k >= 0) throw new Error(`graphToJson: input ${k} of node %${i} (${n.op}) is not in graph ${g.name}; build graphs with buildGraph`);
  }
  const detached = detachedNodesOf(g, idOf);
  const locations = options.locations ?? true;
  return {
    format: GRAPH_JSON_FORMAT,
    version: GRAPH_JSON_VERSION,
    name: g.name,
    nodes: g.nodes.map((n, i) => toNodeDoc(n, i, idOf, locations)),
    ...(detached.length > 0 ? { detachedNodes: detached.map((n, k) => toNodeDoc(n, g.nodes.length + k, idOf, locations)) } : {}),
    outputs: g.outputs.map((o, i) => ({ name: g.outputNames[i] ?? `out${i}`, id: idOf.get(o)! })),
  };
};

const nodeLines = (nodes: readonly NodeDoc[]): string =>
  `[\n${nodes.map((n) => `    ${JSON.stringify(nodeCodec.encode(n))}`).join(",\n")}\n  ]`;

/**
 * Writes a graph as a JSON document, one node per line (see docs/graph-formats.md).
 * @example
 * const text = graphToJson(buildGraph(tanh(input("x", [sym("batch"), 2], "f32")), "layer"));
 * const again = parseGraphJson(text); // the same graph
 */
export const graphToJson = (g: Graph, options: JsonOptions = {}): string => {
  const doc = graphToDocument(g, options);
  const field = (k: string, v: Json): string => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`;
  return [
    "{",
    [
      field("format", doc.format),
      field("version", doc.version),
      field("name", doc.name),
      `  "nodes": ${nodeLines(doc.nodes)}`,
      ...(doc.detachedNodes !== undefined ? [`  "detachedNodes": ${nodeLines(doc.detachedNodes)}`] : []),
      field("outputs", doc.outputs.map((o) => ({ name: o.name, id: o.id }))),
    ].join(",\n"),
    "}",
  ].join("\n");
};

// ---------------------------------------------------------------- reading: text

/** Size and nesting, checked on the raw text so no deep or huge structure is parsed. */
const checkText = (text: unknown): Result<string> => {
  if (typeof text !== "string") return fail("", `expected JSON text (a string), got ${text === null ? "null" : typeof text}`);
  if (text.length > GRAPH_JSON_LIMITS.maxDocumentChars)
    return fail("", `the document has ${text.length} characters; the limit is ${GRAPH_JSON_LIMITS.maxDocumentChars}`);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > GRAPH_JSON_LIMITS.maxNesting)
        return fail("", `arrays and objects are nested deeper than ${GRAPH_JSON_LIMITS.maxNesting} levels (at character ${i})`);
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return E.right(text);
};

const parseJson = (text: string): Result<unknown> => {
  try {
    // A byte-order mark is not JSON, but editors write one.
    return E.right(JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown);
  } catch (e) {
    return fail("", `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
};

interface PathLink {
  readonly parent: PathLink | undefined;
  readonly key: string | number;
}
const pathText = (p: PathLink | undefined): string => {
  const parts: string[] = [];
  for (let l = p; l !== undefined; l = l.parent) parts.push(typeof l.key === "number" ? `[${l.key}]` : `.${l.key}`);
  return parts.reverse().join("").replace(/^\./, "");
};

/** Refuses prototype-altering keys anywhere (iterative; depth is already bounded). */
const rejectForbiddenKeys = (value: unknown): Result<unknown> => {
  const stack: { v: unknown; at: PathLink | undefined }[] = [{ v: value, at: undefined }];
  while (stack.length > 0) {
    const { v, at } = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (typeof v[i] === "object" && v[i] !== null) stack.push({ v: v[i], at: { parent: at, key: i } });
    } else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        const here = { parent: at, key: k };
        if (FORBIDDEN_KEYS.has(k)) return fail(pathText(here), `the key ${JSON.stringify(k)} is not allowed in a graph document`);
        if (typeof v[k] === "object" && v[k] !== null) stack.push({ v: v[k], at: here });
      }
    }
  }
  return E.right(value);
};

const decodeDocument = (value: unknown): Result<GraphDocument> => pipe(graphDocumentCodec.decode(value), E.mapLeft(firstError));

// ---------------------------------------------------------------- reading: references

interface Checked {
  readonly doc: GraphDocument;
  /** Graph nodes, then detached nodes: `all[id]`. */
  readonly all: readonly NodeDoc[];
  readonly graphSize: number;
}

const nodePath = (graphSize: number, id: number): string => (id < graphSize ? `nodes[${id}]` : `detachedNodes[${id - graphSize}]`);

const checkNode = (c: Checked, d: NodeDoc, index: number, leafNames: Map<string, number>): Result<void> => {
  const path = nodePath(c.graphSize, index);
  const total = c.all.length;
  if (d.id !== index) {
    const first = c.all.findIndex((x) => x.id === d.id);
    return first >= 0 && first < index
      ? fail(`${path}.id`, `duplicate id ${d.id} (${nodePath(c.graphSize, first)} has it); nodes are listed in id order, so this one is ${index}`)
      : fail(`${path}.id`, `is ${d.id}, but nodes are listed in id order, so this one is ${index}`);
  }
  for (const [k, j] of d.inputs.entries()) {
    if (j >= total) return fail(`${path}.inputs[${k}]`, `refers to node ${j}, but the document has only ${total} nodes`);
    if (j >= index) return fail(`${path}.inputs[${k}]`, `refers to node ${j}, which does not come before node ${index} (inputs come first; this is a cycle or a forward reference)`);
  }
  if (d.origin !== undefined) {
    if (d.origin >= total) return fail(`${path}.origin`, `refers to node ${d.origin}, but the document has only ${total} nodes`);
    if (d.origin === index) return fail(`${path}.origin`, `node ${index} cannot be its own origin`);
  }
  if (d.op === Op.Constant) {
    const size = symbolicSize(d.params.shape);
    const n = d.params.values.length;
    if (size.syms === "" && n !== 1 && n !== size.n)
      return fail(`${path}.params.values`, `has ${n} values, but shape ${formatShape(d.params.shape)} needs ${size.n} (or 1 to fill it)`);
  }
  if (index < c.graphSize && (d.op === Op.Input || d.op === Op.Param)) {
    const prior = leafNames.get(d.params.name);
    if (prior !== undefined) return fail(`${path}.params.name`, `${JSON.stringify(d.params.name)} is also the name of nodes[${prior}]; leaf names are unique in a graph`);
    leafNames.set(d.params.name, index);
  }
  return E.right(undefined);
};

/** Detached nodes must be needed: an origin of a graph node, or an input or origin of a needed one. */
const checkDetachedNeeded = (c: Checked): Result<void> => {
  const needed = new Uint8Array(c.all.length);
  const stack: number[] = c.all.slice(0, c.graphSize).flatMap((d) => (d.origin !== undefined && d.origin >= c.graphSize ? [d.origin] : []));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed[id] === 1) continue;
    needed[id] = 1;
    const d = c.all[id]!;
    for (const j of d.inputs) if (j >= c.graphSize) stack.push(j);
    if (d.origin !== undefined && d.origin >= c.graphSize) stack.push(d.origin);
  }
  for (let id = c.graphSize; id < c.all.length; id++)
    if (needed[id] === 0) return fail(nodePath(c.graphSize, id), `no graph node needs this detached node (it is not an origin, nor an input or origin of one)`);
  return E.right(undefined);
};

const checkReferences = (doc: GraphDocument): Result<Checked> => {
  const all = [...doc.nodes, ...(doc.detachedNodes ?? [])];
  if (all.length > GRAPH_JSON_LIMITS.maxNodes)
    return fail("detachedNodes", `the document has ${all.length} nodes in all; the limit is ${GRAPH_JSON_LIMITS.maxNodes}`);
  const c: Checked = { doc, all, graphSize: doc.nodes.length };
  const leafNames = new Map<string, number>();
  for (const [i, d] of all.entries()) {
    const r = checkNode(c, d, i, leafNames);
    if (E.isLeft(r)) return r;
  }
  if (doc.outputs.length === 0) return fail("outputs", "is empty: a graph needs at least one output");
  const outputNames = new Map<string, number>();
  for (const [i, o] of doc.outputs.entries()) {
    if (o.id >= c.graphSize)
      return fail(`outputs[${i}].id`, o.id < all.length ? `refers to detached node ${o.id}: outputs are graph nodes` : `refers to node ${o.id}, but the graph has only ${c.graphSize} nodes`);
    const prior = outputNames.get(o.name);
    if (prior !== undefined) return fail(`outputs[${i}].name`, `${JSON.stringify(o.name)} is also the name of outputs[${prior}]; output names are unique`);
    outputNames.set(o.name, i);
  }
  return pipe(
    checkDetachedNeeded(c),
    E.map(() => c),
  );
};

// ---------------------------------------------------------------- reading: nodes

const typeText = (a: ArgInfo): string => `${a.dtype}${compactShape(a.shape)}`;

const makeChecked = <K extends Op>(c: Checked, d: NodeDocOf<K>, built: readonly (Node | undefined)[]): Result<Node> => {
  const path = nodePath(c.graphSize, d.id);
  const inputs = d.inputs.map((j) => built[j]!);
  const where = `${d.inputs.length === 0 ? "" : `inputs ${inputs.map((x, k) => `${typeText(x)} from node ${d.inputs[k]}`).join(", ")}; `}at ${formatLoc(d.loc)}`;
  const rule = inferShape(d.op, inputs, d.params);
  if (E.isLeft(rule)) return fail(path, `${d.op}: ${rule.left} (${where})`);
  const stored: ArgInfo = { shape: d.shape, dtype: d.dtype };
  if (rule.right.dtype !== d.dtype) return fail(`${path}.dtype`, `${d.op} gives ${typeText(rule.right)}, but the document says ${typeText(stored)} (${where})`);
  if (!shapesEqual(rule.right.shape, d.shape)) return fail(`${path}.shape`, `${d.op} gives ${typeText(rule.right)}, but the document says ${typeText(stored)} (${where})`);
  const origin = d.origin === undefined ? undefined : built[d.origin];
  return E.right(makeNode({ op: d.op, params: d.params, inputs, shape: d.shape, dtype: d.dtype, loc: d.loc, origin }));
};

/**
 * Makes every node after its inputs and origin (origins may point forward, so this is a
 * depth-first walk over both; a cycle through origins is an error at the closing field).
 */
const buildNodes = (c: Checked): Result<readonly Node[]> => {
  const total = c.all.length;
  const built = new Array<Node | undefined>(total);
  const state = new Uint8Array(total); // 0 new, 1 open, 2 done
  const byHash = new Map<string, number[]>();
  for (let root = 0; root < total; root++) {
    const stack: { id: number; expanded: boolean }[] = [{ id: root, expanded: false }];
    while (stack.length > 0) {
      const { id, expanded } = stack.pop()!;
      if (state[id] === 2) continue;
      const d = c.all[id]!;
      if (expanded) {
        const made = makeChecked(c, d, built);
        if (E.isLeft(made)) return made;
        if (id < c.graphSize) {
          const twins = byHash.get(made.right.hash) ?? [];
          const twin = twins.find((j) => sameStructure(built[j]!, made.right));
          if (twin !== undefined)
            return fail(nodePath(c.graphSize, id), `computes the same ${d.op} of the same inputs as nodes[${twin}]; a graph holds each value once, so refer to node ${twin} instead`);
          byHash.set(made.right.hash, [...twins, id]);
        }
        built[id] = made.right;
        state[id] = 2;
        continue;
      }
      state[id] = 1;
      stack.push({ id, expanded: true });
      const deps: [string, number][] = [...d.inputs.map((j, k): [string, number] => [`inputs[${k}]`, j]), ...(d.origin === undefined ? [] : [["origin", d.origin] as [string, number]])];
      for (const [field, j] of deps) {
        if (state[j] === 1)
          return fail(`${nodePath(c.graphSize, id)}.${field}`, `refers to node ${j}, which itself depends on node ${id} through inputs and origins: origins must not form a cycle`);
        if (state[j] === 0) stack.push({ id: j, expanded: false });
      }
    }
  }
  return E.right(built as Node[]);
};

const assemble = (c: Checked, built: readonly Node[]): Result<Graph> => {
  const graphNodes = built.slice(0, c.graphSize);
  const outputs = c.doc.outputs.map((o) => built[o.id]!);
  // Every graph node is a root after the outputs, so nodes no output needs are kept and a
  // document written by graphToJson gets its ids back.
  const g = buildGraphE([...outputs, ...graphNodes], { name: c.doc.name });
  if (E.isLeft(g)) return fail("", g.left.message);
  return E.right({ ...g.right, outputs: g.right.outputs.slice(0, outputs.length), outputNames: c.doc.outputs.map((o) => o.name) });
};

/**
 * Reads a graph document, or says which field is wrong. Never throws.
 * @example
 * const g = graphFromJson(text);
 * if (E.isLeft(g)) console.error(formatGraphJsonError(g.left)); // "nodes[3].inputs[0]: refers to node 7, ..."
 */
export const graphFromJson = (text: unknown): E.Either<GraphJsonError, Graph> => {
  try {
    return pipe(
      checkText(text),
      E.chain(parseJson),
      E.chain(rejectForbiddenKeys),
      E.chain(decodeDocument),
      E.chain(checkReferences),
      E.chain((c) => pipe(buildNodes(c), E.chain((built) => assemble(c, built)))),
    );
  } catch (e) {
    // Not expected: every check above returns a value. Kept so a bug cannot escape as an exception.
    return fail("", `internal error while reading the document: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * `graphFromJson`, throwing a `ValidationError` (with `path`) on a bad document.
 * @example const g = parseGraphJson(fs.readFileSync("mlp.graph.json", "utf8"));
 */
export const parseGraphJson = (text: string): Graph => {
  const g = graphFromJson(text);
  if (E.isLeft(g)) throw new ValidationError(g.left.message, g.left.path);
  return g.right;
};
