/**
 * Graph verification, run before optimization and between passes in tests and debug mode.
 *
 * Takes a graph; returns it unchanged when it is well formed, else the first problem as a
 * CompileError naming the node (`%id op`), its shapes and its source location. Checks:
 * ids (`nodes[i]` has id i, the id map holds exactly the nodes), acyclicity and order
 * (every input is in the graph with a smaller id; a cycle is reported as one), every
 * node's shape and dtype against its op's rule (`compiler/rules/shape.ts`) and its
 * structural hash, hash-consing (no two structurally identical nodes), outputs in the
 * graph with one unique name each, and unique leaf names.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import { hashString, sameStructure, structuralKey, type Node } from "../../src/graph/node.js";
import { formatShape, shapesEqual } from "../../src/graph/shapes.js";
import { formatLoc } from "../../src/graph/location.js";
import { inferShape } from "../rules/shape.js";
import { compileError, describeNode, nodeRef, type CompileError } from "../errors.js";

const PASS = "verifyGraph";

/** The cycle through `start` following inputs, if there is one (for the message). */
const findCycle = (start: Node): Node[] | undefined => {
  const path: Node[] = [];
  const onPath = new Set<Node>();
  const done = new Set<Node>();
  const visit = (n: Node): Node[] | undefined => {
    if (onPath.has(n)) return [...path.slice(path.indexOf(n)), n];
    if (done.has(n)) return undefined;
    path.push(n);
    onPath.add(n);
    for (const i of n.inputs) {
      const c = visit(i);
      if (c !== undefined) return c;
    }
    path.pop();
    onPath.delete(n);
    done.add(n);
    return undefined;
  };
  return visit(start);
};

const checkIds = (g: Graph): CompileError | undefined => {
  for (const [i, n] of g.nodes.entries()) {
    const id = g.ids.get(n);
    if (id !== i) return compileError(PASS, "structure", `nodes[${i}] has ${id === undefined ? "no id" : `id ${id}`} in the id map; nodes[i] must have id i`, { node: n });
  }
  if (g.ids.size !== g.nodes.length) return compileError(PASS, "structure", `the id map has ${g.ids.size} entries for ${g.nodes.length} nodes`);
  return undefined;
};

const checkInputs = (g: Graph, n: Node, id: number): CompileError | undefined => {
  for (const [k, inp] of n.inputs.entries()) {
    const j = g.ids.get(inp);
    if (j === undefined) return compileError(PASS, "structure", `input ${k} (${nodeRef(undefined, inp)}: ${inp.dtype}${formatShape(inp.shape)}) is not in the graph`, { graph: g, node: n });
    if (j >= id) {
      const cycle = findCycle(n);
      return cycle !== undefined
        ? compileError(PASS, "structure", `cycle: ${cycle.map((c) => `${nodeRef(g, c)} ${c.op}`).join(" <- ")}`, { graph: g, node: n })
        : compileError(PASS, "structure", `input ${k} is %${j}, which does not come before it`, { graph: g, node: n });
    }
  }
  return undefined;
};

const checkRule = (g: Graph, n: Node): CompileError | undefined => {
  const rule = inferShape(n.op, n.inputs, n.params);
  if (E.isLeft(rule)) return compileError(PASS, "shape", `shape rule says: ${rule.left}`, { graph: g, node: n });
  const { shape, dtype } = rule.right;
  if (dtype !== n.dtype || !shapesEqual(shape, n.shape))
    return compileError(PASS, "shape", `node says ${n.dtype}${formatShape(n.shape)} but the ${n.op} rule gives ${dtype}${formatShape(shape)}`, { graph: g, node: n });
  if (hashString(structuralKey(n.op, n.params, n.dtype, n.shape, n.inputs)) !== n.hash)
    return compileError(PASS, "structure", "structural hash does not match the node's op, params, type and inputs", { graph: g, node: n });
  return undefined;
};

const checkNodes = (g: Graph): CompileError | undefined => {
  const byHash = new Map<string, Node>();
  const names = new Map<string, Node>();
  for (const [id, n] of g.nodes.entries()) {
    const bad = checkInputs(g, n, id) ?? checkRule(g, n);
    if (bad !== undefined) return bad;
    const twin = byHash.get(n.hash);
    if (twin !== undefined && sameStructure(twin, n))
      return compileError(PASS, "structure", `not hash-consed: computes the same as ${describeNode(g, twin)}`, { graph: g, node: n });
    byHash.set(n.hash, n);
    if (n.op === Op.Input || n.op === Op.Param) {
      const prior = names.get(n.params.name);
      if (prior !== undefined)
        return compileError(PASS, "structure", `leaf name '${n.params.name}' is also used by ${describeNode(g, prior)}`, { graph: g, node: n });
      names.set(n.params.name, n);
    }
  }
  return undefined;
};

const checkOutputs = (g: Graph): CompileError | undefined => {
  if (g.outputs.length === 0) return compileError(PASS, "structure", `graph ${g.name} has no outputs`);
  if (g.outputNames.length !== g.outputs.length)
    return compileError(PASS, "structure", `graph ${g.name} has ${g.outputs.length} output(s) but ${g.outputNames.length} output name(s)`);
  const seen = new Set<string>();
  for (const [k, o] of g.outputs.entries()) {
    const name = g.outputNames[k]!;
    if (!g.ids.has(o)) return compileError(PASS, "structure", `output '${name}' (${o.op} ${o.dtype}${formatShape(o.shape)} at ${formatLoc(o.loc)}) is not in the graph`);
    if (seen.has(name)) return compileError(PASS, "structure", `output name '${name}' is used twice`);
    seen.add(name);
  }
  return undefined;
};

/**
 * The graph itself when it is well formed, else the first problem found.
 * @example verifyGraph(buildGraph(tanh(x))) // Right(graph)
 */
export const verifyGraph = (g: Graph): E.Either<CompileError, Graph> => {
  const bad = checkIds(g) ?? checkNodes(g) ?? checkOutputs(g);
  return bad === undefined ? E.right(g) : E.left(bad);
};
