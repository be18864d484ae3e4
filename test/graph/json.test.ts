import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as fc from "fast-check";
import * as tg from "../../src/index.js";
import { buildGraph, buildGraphE, type Graph } from "../../src/graph/graph.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { graphToText } from "../../src/graph/text.js";
import { ValidationError } from "../../src/errors.js";
import {
  GRAPH_JSON_LIMITS,
  formatGraphJsonError,
  graphFromJson,
  graphToDocument,
  graphToJson,
  parseGraphJson,
} from "../../src/graph/json.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { differentiate } from "../../compiler/passes/differentiate.js";
import { simplifyAlgebra } from "../../compiler/passes/simplifyAlgebra.js";
import { optimizeGraph } from "../../compiler/pipeline.js";
import { opSpecTable } from "../support/opspec.js";

const { input, param, constant, matmul, add, tanh, sum, sym, mul, log } = tg;

const mlp = (): Graph => {
  const B = sym("batch");
  const x = input("x", [B, 2], "f32");
  const W = param("W", [2, 4], "f32", { kind: "normal", mean: 0, std: 0.1 });
  const b = param("b", [4], "f32");
  const h = tanh(add(matmul(x, W), b));
  return buildGraph({ loss: sum(h), h }, "mlp");
};

/** The round-trip property: same text, name, outputs, hashes, ids, locations and origins. */
const expectSameGraph = (back: Graph, g: Graph): void => {
  expect(graphToText(back)).toBe(graphToText(g));
  expect(back.name).toBe(g.name);
  expect(back.outputNames).toEqual(g.outputNames);
  expect(back.nodes.map((n) => n.hash)).toEqual(g.nodes.map((n) => n.hash));
  expect(back.outputs.map((o) => back.ids.get(o))).toEqual(g.outputs.map((o) => g.ids.get(o)));
  expect(back.nodes.map((n) => n.loc)).toEqual(g.nodes.map((n) => n.loc));
  const originOf = (h: Graph, n: Node): string | undefined =>
    n.origin === undefined ? undefined : h.ids.has(n.origin) ? `%${h.ids.get(n.origin)}` : `${n.origin.hash}@${JSON.stringify(n.origin.loc)}`;
  expect(back.nodes.map((n) => originOf(back, n))).toEqual(g.nodes.map((n) => originOf(g, n)));
  expect(E.isRight(verifyGraph(back))).toBe(true);
};

const roundTrip = (g: Graph): Graph => {
  const back = graphFromJson(graphToJson(g));
  if (E.isLeft(back)) throw new Error(formatGraphJsonError(back.left));
  return back.right;
};

const leftOf = (text: string): string => {
  const r = graphFromJson(text);
  if (E.isRight(r)) throw new Error("expected the document to be refused");
  return formatGraphJsonError(r.left);
};

describe("graph JSON round trip", () => {
  it("gives back the same graph (symbolic dims, init specs, locations, several outputs)", () => {
    const g = mlp();
    const back = roundTrip(g);
    expectSameGraph(back, g);
    expect(back.nodes[1]!.op === "param" && back.nodes[1]!.params.init).toEqual({ kind: "normal", mean: 0, std: 0.1 });
    expect(graphToJson(back)).toBe(graphToJson(g));
  });

  it("reads a document that starts with a byte-order mark", () => {
    const g = mlp();
    expectSameGraph(parseGraphJson(`\uFEFF${graphToJson(g)}`), g);
  });

  it("writes one node per line with the documented fields", () => {
    const text = graphToJson(mlp(), { locations: false });
    expect(text.split("\n").slice(0, 6).join("\n")).toMatchInlineSnapshot(`
      "{
        "format": "typegrad.graph",
        "version": 1,
        "name": "mlp",
        "nodes": [
          {"id":0,"op":"input","params":{"name":"x","shape":["batch",2],"dtype":"f32"},"inputs":[],"shape":["batch",2],"dtype":"f32"},"
    `);
    expect(text).toContain(`{"id":3,"op":"matmul","params":{"transposeA":false,"transposeB":false},"inputs":[0,1],"shape":["batch",4],"dtype":"f32"}`);
    expect(text).toContain(`"outputs": [{"name":"loss","id":6},{"name":"h","id":5}]`);
  });

  it("round-trips every row of the op-spec table", () => {
    let rows = 0;
    for (const row of opSpecTable) {
      const xs = row.inputs.map((s, i) => input(`x${i}`, s.shape, s.dtype));
      const g = buildGraph(row.build(xs), row.name);
      expectSameGraph(roundTrip(g), g);
      rows++;
    }
    expect(rows).toBe(opSpecTable.length);
    expect(new Set(opSpecTable.map((r) => r.op)).size).toBe(Object.values(tg.Op).length);
  });

  it("keeps NaN, infinities and -0 in constants exactly (hashes tell -0 from 0)", () => {
    const c = constant([Number.NaN, Infinity, -Infinity, -0, 0, 1.5e-300], [6], "f64");
    const g = buildGraph(mul(input("x", [6], "f64"), c), "special");
    const text = graphToJson(g);
    expect(text).toContain(`"values":["NaN","Infinity","-Infinity","-0",0,1.5e-300]`);
    const back = roundTrip(g);
    expectSameGraph(back, g);
    const values = back.nodes.find((n) => n.op === "constant")!;
    expect(values.op === "constant" && Object.is(values.params.values[3], -0)).toBe(true);
  });

  it("keeps gradient origins, in the graph or detached", () => {
    const x = input("x", [3], "f64");
    const loss = sum(mul(log(x), x));
    const [dx] = E.getOrElseW((e: { message: string }) => {
      throw new Error(e.message);
    })(differentiate({ outputs: [loss.node], wrt: [x.node] }));
    const both = buildGraph({ loss, dx: { node: dx! } }, "withGrad");
    expect(both.nodes.some((n) => n.origin !== undefined)).toBe(true);
    expectSameGraph(roundTrip(both), both);
    // Only the gradient: some origins (the forward mul, sum) are not in the graph.
    const gradOnly = buildGraph({ dx: { node: dx! } }, "gradOnly");
    const doc = graphToDocument(gradOnly);
    expect(doc.detachedNodes?.length ?? 0).toBeGreaterThan(0);
    expect(graphToText(gradOnly)).toMatch(/grad of (sum|mul) f64/);
    expectSameGraph(roundTrip(gradOnly), gradOnly);
  });

  it("round-trips gradient graphs after optimization passes", () => {
    const g = mlp();
    const params = g.nodes.filter((n) => n.op === "param");
    const grads = differentiate({ outputs: [g.outputs[0]!], wrt: params });
    if (E.isLeft(grads)) throw new Error(grads.left.message);
    const withGrads = buildGraph({ loss: { node: g.outputs[0]! }, dW: { node: grads.right[0]! }, db: { node: grads.right[1]! } }, "train");
    const simplified = simplifyAlgebra(withGrads);
    const optimized = optimizeGraph(withGrads);
    if (E.isLeft(simplified) || E.isLeft(optimized)) throw new Error("passes failed");
    for (const h of [withGrads, simplified.right, optimized.right.graph]) expectSameGraph(roundTrip(h), h);
  });

  it("keeps nodes that no output needs (graphs assembled by passes) and their ids", () => {
    const x = input("x", [2], "f32");
    const out = tanh(x);
    const extra = add(x, constant(1, [], "f32"));
    const built = buildGraphE([out.node, extra.node], { name: "extra" });
    if (E.isLeft(built)) throw new Error(built.left.message);
    const g: Graph = { ...built.right, outputs: built.right.outputs.slice(0, 1), outputNames: ["y"] };
    const back = roundTrip(g);
    expectSameGraph(back, g);
    expect(back.nodes.length).toBe(4);
  });

  it("accepts another topological order and renumbers into the canonical one", () => {
    const g = mlp();
    const doc = JSON.parse(graphToJson(g)) as { nodes: { id: number; inputs: number[] }[]; outputs: { id: number }[] };
    // Swap param W (1) and param b (2).
    const swap = (i: number): number => (i === 1 ? 2 : i === 2 ? 1 : i);
    const nodes = [doc.nodes[0]!, doc.nodes[2]!, doc.nodes[1]!, ...doc.nodes.slice(3)].map((n, i) => ({ ...n, id: i, inputs: n.inputs.map(swap) }));
    const back = parseGraphJson(JSON.stringify({ ...doc, nodes }));
    expectSameGraph(back, g);
  });
});

/** A valid document as a mutable object. */
type Doc = Record<string, unknown> & { nodes: Record<string, unknown>[] };
const validDoc = (): Doc => JSON.parse(graphToJson(mlp())) as Doc;
const withDoc = (f: (d: Doc) => void): string => {
  const d = validDoc();
  f(d);
  return JSON.stringify(d);
};
const node = (d: Doc, i: number): Record<string, unknown> & { params: Record<string, unknown>; inputs: number[]; shape: unknown[] } =>
  d.nodes[i] as Record<string, unknown> & { params: Record<string, unknown>; inputs: number[]; shape: unknown[] };

describe("hostile and malformed documents", () => {
  const cases: [string, () => string, string][] = [
    ["not a string", () => 42 as unknown as string, "expected JSON text (a string), got number"],
    ["not JSON", () => "{nodes: }", "not valid JSON"],
    ["truncated", () => graphToJson(mlp()).slice(0, 200), "not valid JSON"],
    ["wrong format", () => withDoc((d) => (d.format = "onnx")), `format: expected "typegrad.graph" (this is not a typegrad graph document), got "onnx"`],
    ["future version", () => withDoc((d) => (d.version = 2)), "version: this reader reads version 1 documents, got version 2"],
    ["missing field", () => withDoc((d) => delete d.nodes[4]!.inputs), "nodes[4].inputs: missing field (a add node needs id, op, params, inputs, shape, dtype)"],
    ["unknown field", () => withDoc((d) => (node(d, 4).colour = "red")), "nodes[4].colour: unknown field"],
    ["unknown op", () => withDoc((d) => (node(d, 5).op = "tanhh")), `nodes[5].op: "tanhh" is not a known op`],
    ["wrong type", () => withDoc((d) => (d.nodes[3]!.inputs = "0,1")), `nodes[3].inputs: expected a list of input ids (an array), got "0,1"`],
    ["bad params", () => withDoc((d) => (node(d, 6).params.keepdims = "no")), `nodes[6].params.keepdims: expected true or false, got "no"`],
    ["param of another op", () => withDoc((d) => (node(d, 5).params.axis = 1)), "nodes[5].params.axis: unknown field (tanh params has no fields)"],
    ["bad init", () => withDoc((d) => (node(d, 1).params.init = { kind: "xavier" })), `nodes[1].params.init.kind: "xavier" is not a known kind: one of zeros, ones`],
    ["forward reference", () => withDoc((d) => (node(d, 3).inputs[1] = 5)), "nodes[3].inputs[1]: refers to node 5, which does not come before node 3"],
    ["self reference", () => withDoc((d) => (node(d, 4).inputs[0] = 4)), "nodes[4].inputs[0]: refers to node 4, which does not come before node 4"],
    ["dangling reference", () => withDoc((d) => (node(d, 6).inputs[0] = 40)), "nodes[6].inputs[0]: refers to node 40, but the document has only 7 nodes"],
    ["negative reference", () => withDoc((d) => (node(d, 6).inputs[0] = -1)), "nodes[6].inputs[0]: expected an integer in [0, 999999], got -1"],
    ["duplicate id", () => withDoc((d) => (node(d, 4).id = 3)), "nodes[4].id: duplicate id 3 (nodes[3] has it)"],
    ["id out of order", () => withDoc((d) => (node(d, 4).id = 9)), "nodes[4].id: is 9, but nodes are listed in id order, so this one is 4"],
    ["dangling output", () => withDoc((d) => ((d.outputs as { id: number }[])[0]!.id = 70)), "outputs[0].id: refers to node 70, but the graph has only 7 nodes"],
    ["duplicate output name", () => withDoc((d) => ((d.outputs as { name: string }[])[1]!.name = "loss")), `outputs[1].name: "loss" is also the name of outputs[0]`],
    ["origin out of range", () => withDoc((d) => (node(d, 5).origin = 99)), "nodes[5].origin: refers to node 99, but the document has only 7 nodes"],
    ["own origin", () => withDoc((d) => (node(d, 5).origin = 5)), "nodes[5].origin: node 5 cannot be its own origin"],
    ["origin cycle", () => withDoc((d) => ((node(d, 4).origin = 5), (node(d, 5).origin = 4))), "origins must not form a cycle"],
    ["huge dim", () => withDoc((d) => (node(d, 1).params.shape = [2, 2 ** 31])), "nodes[1].params.shape[1]: dim 2147483648 is not an integer in [0, 2147483647]"],
    ["negative dim", () => withDoc((d) => (node(d, 2).shape[0] = -4)), "nodes[2].shape[0]: dim -4 is not an integer in [0, 2147483647]"],
    ["fractional dim", () => withDoc((d) => (node(d, 2).shape[0] = 4.5)), "nodes[2].shape[0]: dim 4.5 is not an integer"],
    ["NaN as a dim (a symbolic name, so the shape check refuses it)", () => withDoc((d) => (node(d, 2).shape[0] = "NaN")), "nodes[2].shape: param gives f32[4], but the document says f32[NaN]"],
    ["overflowing number", () => graphToJson(mlp()).replace(`"shape":[4],"dtype":"f32","loc"`, `"shape":[1e999],"dtype":"f32","loc"`), "nodes[2].shape[0]: dim Infinity is not an integer"],
    ["too many elements", () => withDoc((d) => (node(d, 1).params.shape = [65536, 65536])), `nodes[1].params.shape: shape [65536, 65536] has more than 2147483647 elements (the limit)`],
    ["rank over the limit", () => withDoc((d) => (node(d, 2).params.shape = new Array(40).fill(1))), "nodes[2].params.shape: a shape has 40 entries; the limit is 32"],
    ["bad symbolic dim", () => withDoc((d) => (node(d, 0).shape[0] = "bat ch")), `nodes[0].shape[0]: symbolic dim "bat ch" is not an identifier`],
    ["__proto__ key", () => graphToJson(mlp()).replace(`"params":{}`, `"params":{"__proto__":{"polluted":1}}`), `nodes[4].params.__proto__: the key "__proto__" is not allowed`],
    ["constructor key", () => withDoc((d) => (node(d, 0).loc = { constructor: 1 })), `nodes[0].loc.constructor: the key "constructor" is not allowed`],
    ["excessive nesting", () => `{"nodes":${"[".repeat(50)}${"]".repeat(50)}}`, "arrays and objects are nested deeper than 10 levels (at character 18)"],
    ["deep nesting, huge", () => "[".repeat(1_000_000), "nested deeper than 10 levels"],
    ["stored shape disagrees", () => withDoc((d) => (node(d, 4).shape = ["batch", 5])), "nodes[4].shape: add gives f32[batch,4], but the document says f32[batch,5] (inputs f32[batch,4] from node 3, f32[4] from node 2; at test/graph/json.test.ts:"],
    ["stored dtype disagrees", () => withDoc((d) => (node(d, 6).dtype = "f64")), "nodes[6].dtype: sum gives f32[], but the document says f64[]"],
    ["shape rule fails", () => withDoc((d) => (node(d, 1).params.shape = [3, 4]) && (node(d, 1).shape = [3, 4])), "nodes[3]: matmul: inner dims differ: 2 (lhs [batch, 2]) vs 3 (rhs [3, 4]) (inputs f32[batch,2] from node 0, f32[3,4] from node 1; at test/graph/json.test.ts:"],
    ["wrong arity", () => withDoc((d) => (node(d, 5).inputs = [4, 3])), "nodes[5]: tanh: expects 1 input, got 2"],
    ["axis out of range", () => withDoc((d) => (node(d, 6).params.axes = [0, 7])), "nodes[6]: sum: axis 7 out of range for rank 2 ([batch, 4])"],
    ["duplicate leaf name", () => withDoc((d) => (node(d, 2).params.name = "W")), `nodes[2].params.name: "W" is also the name of nodes[1]; leaf names are unique`],
    ["duplicate node", () => withDoc((d) => d.nodes.push({ ...node(d, 5), id: 7 })), "nodes[7]: computes the same tanh of the same inputs as nodes[5]; a graph holds each value once"],
    ["empty name", () => withDoc((d) => (d.name = "")), "name: a graph name must not be empty"],
    ["null for an optional field", () => withDoc((d) => (node(d, 3).loc = null)), "nodes[3].loc: expected a source location (an object), got null"],
    ["unneeded detached node", () => withDoc((d) => (d.detachedNodes = [{ ...node(d, 0), id: 7, params: { name: "z", shape: [1], dtype: "f32" }, shape: [1] }])), "detachedNodes[0]: no graph node needs this detached node"],
    ["detached output", () => withDoc((d) => ((d.detachedNodes = [{ ...node(d, 5), id: 7 }]), (node(d, 6).origin = 7), ((d.outputs as { id: number }[])[0]!.id = 7))), "outputs[0].id: refers to detached node 7: outputs are graph nodes"],
  ];

  for (const [name, make, expected] of cases) {
    it(`refuses ${name}`, () => {
      expect(leftOf(make())).toContain(expected);
    });
  }

  it("constants must have as many values as their shape", () => {
    const g = buildGraph(add(input("x", [2, 3], "f64"), constant([1, 2, 3, 4, 5, 6], [2, 3], "f64")), "c");
    const text = graphToJson(g).replace("[1,2,3,4,5,6]", "[1,2,3,4,5]");
    expect(leftOf(text)).toContain("nodes[1].params.values: has 5 values, but shape [2, 3] needs 6 (or 1 to fill it)");
  });

  it("refuses documents over the size limit before parsing them", () => {
    const huge = " ".repeat(GRAPH_JSON_LIMITS.maxDocumentChars + 1);
    expect(leftOf(huge)).toBe(`the document has ${huge.length} characters; the limit is ${GRAPH_JSON_LIMITS.maxDocumentChars}`);
  });

  it("refuses node lists over the limit before reading any node", () => {
    // A sparse array: JSON.stringify writes nulls, but the length check comes first.
    const text = `{"format":"typegrad.graph","version":1,"name":"big","nodes":[${"0,".repeat(GRAPH_JSON_LIMITS.maxNodes)}0],"outputs":[]}`;
    expect(leftOf(text)).toBe(`nodes: a list of nodes has ${GRAPH_JSON_LIMITS.maxNodes + 1} entries; the limit is ${GRAPH_JSON_LIMITS.maxNodes}`);
  });

  it("parseGraphJson throws a ValidationError carrying the path", () => {
    const text = withDoc((d) => (node(d, 3).inputs[1] = 5));
    expect(() => parseGraphJson(text)).toThrow(ValidationError);
    try {
      parseGraphJson(text);
    } catch (e) {
      expect(e instanceof ValidationError && e.path).toBe("nodes[3].inputs[1]");
      expect((e as Error).message).toMatch(/^nodes\[3\]\.inputs\[1\]: refers to node 5/);
    }
  });

  it("does not let __proto__ reach an object prototype", () => {
    leftOf(graphToJson(mlp()).replace(`"params":{}`, `"params":{"__proto__":{"polluted":1}}`));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** Every outcome is a value: a Left with a path and message, or a graph that verifies. */
const expectTyped = (text: unknown): E.Either<string, Graph> => {
  const r = graphFromJson(text);
  if (E.isLeft(r)) {
    expect(typeof r.left.path).toBe("string");
    expect(r.left.message.length).toBeGreaterThan(0);
    expect(r.left.message).not.toMatch(/^internal error/);
    return E.left(formatGraphJsonError(r.left));
  }
  expect(E.isRight(verifyGraph(r.right))).toBe(true);
  return E.right(r.right);
};

type Path = (string | number)[];
/** All paths into a JSON value (containers and leaves). */
const pathsOf = (v: unknown, at: Path = []): Path[] => {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))];
  if (v !== null && typeof v === "object") return [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))];
  return [at];
};
const getAt = (v: unknown, p: Path): unknown => p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v);
const setAt = (v: unknown, p: Path, x: unknown): void => {
  const parent = getAt(v, p.slice(0, -1)) as Record<string | number, unknown>;
  parent[p[p.length - 1]!] = x;
};

describe("fuzzing the reader", () => {
  const base = graphToJson(mlp());
  const baseDoc = JSON.parse(base) as unknown;
  const paths = pathsOf(baseDoc).filter((p) => p.length > 0);
  const fieldPaths = paths.filter((p) => typeof p[p.length - 1] === "string");
  const numberPaths = paths.filter((p) => typeof getAt(baseDoc, p) === "number");
  const settings = { numRuns: 300 };

  it("arbitrary JSON values end in a typed Left", () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => E.isLeft(expectTyped(JSON.stringify(v) ?? "null"))), settings);
  });

  it("arbitrary strings and bytes end in a typed Left", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => E.isLeft(expectTyped(s))), settings);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => E.isLeft(expectTyped(new TextDecoder().decode(b)))), settings);
    fc.assert(fc.property(fc.anything(), (v) => E.isLeft(expectTyped(v))), settings);
  });

  it("truncations and byte flips of a valid document end in a typed Left or a graph that verifies", () => {
    fc.assert(fc.property(fc.nat({ max: base.length - 1 }), (n) => E.isLeft(expectTyped(base.slice(0, n)))), settings);
    fc.assert(
      fc.property(fc.nat({ max: base.length - 1 }), fc.integer({ min: 32, max: 126 }), (i, c) => {
        expectTyped(base.slice(0, i) + String.fromCharCode(c) + base.slice(i + 1));
      }),
      settings,
    );
  });

  it("deleting a required field is refused, naming that field", () => {
    const required = fieldPaths.filter((p) => !["loc", "init", "origin", "functions", "detachedNodes"].includes(String(p[p.length - 1])) && !p.includes("loc") && !p.includes("init"));
    fc.assert(
      fc.property(fc.constantFrom(...required), (p) => {
        const d = structuredClone(baseDoc);
        delete (getAt(d, p.slice(0, -1)) as Record<string, unknown>)[String(p[p.length - 1])];
        const r = expectTyped(JSON.stringify(d));
        return E.isLeft(r) && r.left.includes("missing field");
      }),
      settings,
    );
  });

  it("numbers swapped for huge, negative, fractional or special values end in a typed result", () => {
    const bad = fc.constantFrom<unknown>(2 ** 31, 2 ** 53 + 2, -1, -(2 ** 31) - 1, 0.5, 1e308, "NaN", "Infinity", null, true, "7", [], {});
    fc.assert(
      fc.property(fc.constantFrom(...numberPaths), bad, (p, x) => {
        const d = structuredClone(baseDoc);
        setAt(d, p, x);
        expectTyped(JSON.stringify(d));
      }),
      settings,
    );
    // Dims and ids never accept these: always a Left.
    const strict = numberPaths.filter((p) => p.includes("shape") || p.includes("inputs") || p[p.length - 1] === "id");
    fc.assert(
      fc.property(fc.constantFrom(...strict), fc.constantFrom<unknown>(2 ** 31, -1, 0.5, "NaN", null, true, []), (p, x) => {
        const d = structuredClone(baseDoc);
        setAt(d, p, x);
        return E.isLeft(expectTyped(JSON.stringify(d)));
      }),
      settings,
    );
  });

  it("changed types, changed ids and inserted keys end in a typed result; __proto__ always in a Left", () => {
    const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<unknown>(0, 7, 99, -3, "x", null));
    fc.assert(
      fc.property(fc.constantFrom(...paths), replacement, (p, x) => {
        const d = structuredClone(baseDoc);
        setAt(d, p, x);
        expectTyped(JSON.stringify(d));
      }),
      settings,
    );
    const containers = paths.filter((p) => typeof getAt(baseDoc, p) === "object" && !Array.isArray(getAt(baseDoc, p)));
    fc.assert(
      fc.property(fc.constantFrom(...containers), fc.constantFrom("__proto__", "constructor", "prototype"), (p, key) => {
        const d = structuredClone(baseDoc);
        // Insert as raw JSON text so JSON.stringify cannot drop or rewrite the key.
        const marker = "zzMarkerzz";
        (getAt(d, p) as Record<string, unknown>)[marker] = 1;
        const mutated = JSON.stringify(d).replace(`"${marker}":1`, `"${key}":{"x":1}`);
        const r = expectTyped(mutated);
        return E.isLeft(r) && r.left.includes(`the key "${key}" is not allowed`);
      }),
      settings,
    );
  });

  it("documents of random valid graphs round-trip", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(4), { maxLength: 8 }), (b, w, ops) => {
        let h: tg.AnyTensor = input("x", [b, w], "f64");
        for (const [k, op] of ops.entries()) {
          h = op === 0 ? tanh(h) : op === 1 ? add(h, constant(k, [], "f64")) : op === 2 ? matmul(h, param(`W${k}`, [w, w], "f64")) : op === 3 ? sum(h, [1], { keepdims: true }) : mul(h, h);
          if (op === 3) h = tg.broadcastTo(h, [b, w]);
        }
        const g = buildGraph(h, "random");
        expectSameGraph(roundTrip(g), g);
      }),
      { numRuns: 60 },
    );
  });

  it("a node made directly with makeNode and an out-of-graph origin round-trips", () => {
    const x = input("x", [2], "f32").node;
    const fwd = tanh({ node: x }).node;
    const gradNode = makeNode({ op: "neg", params: {}, inputs: [x], shape: [2], dtype: "f32", origin: fwd, loc: fwd.loc });
    const g = buildGraph({ g: { node: gradNode } }, "grad");
    expect(graphToDocument(g).detachedNodes?.map((d) => d.op)).toEqual(["tanh"]);
    expectSameGraph(roundTrip(g), g);
  });
});
