/**
 * Compiled-program tests: same values as the interpreter on random graphs (bit for bit
 * without the optimizer) and on every op-spec row in f64 and f32; symbolic dims bound at
 * two sizes with one cached plan per binding; feed errors with the binder's messages;
 * output selection, names and copies; invalid graphs and kernel errors with the user's
 * source line.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op, type DType } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { formatLoc } from "../../src/graph/location.js";
import { ValidationError } from "../../src/errors.js";
import { inferShape } from "../../compiler/rules/shape.js";
import { CompileFailure } from "../../compiler/errors.js";
import { compile } from "../../runtime/program.js";
import { evaluate } from "../../runtime/interpret.js";
import { bindFeeds, FeedError } from "../../runtime/bind.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { buildRandomGraph, describeRandomGraph, randomGraphCase, usedFeeds } from "../support/randomGraph.js";
import { opSpecTable, type Domain } from "../support/opspec.js";

const f64 = (shape: readonly number[], values: readonly number[]): TensorValue => tensorValue("f64", shape, values);
const wave = (n: number, scale = 1): number[] => Array.from({ length: n }, (_, i) => Math.sin(i + 1) * scale);

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error("expected an error, nothing was thrown");
};

/** Values equal up to rounding: exact for integers and bools, relative 1e-9 otherwise (NaN equals NaN). */
const close = (got: TensorValue, want: TensorValue): string | undefined => {
  if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) return `type ${got.dtype}[${got.shape}] vs ${want.dtype}[${want.shape}]`;
  for (let i = 0; i < want.data.length; i++) {
    const [g, w] = [got.data[i]!, want.data[i]!];
    if (Object.is(g, w) || g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (Math.abs(g - w) <= 1e-9 * Math.max(1, Math.abs(w))) continue;
    return `element ${i}: ${g} vs ${w}`;
  }
  return undefined;
};

describe("programs compute what the interpreter computes", () => {
  it("on random graphs, bit for bit without the optimizer", () => {
    fc.assert(
      fc.property(randomGraphCase(), ({ graph, feeds }) => {
        const { outputs } = buildRandomGraph(graph);
        const g = tg.buildGraph(outputs);
        const used = usedFeeds(feeds, outputs);
        const want = evaluate(g.outputs, used);
        const program = compile(g, { optimize: false });
        const got = program.run(used);
        got.forEach((v, i) => {
          expect(v.shape, describeRandomGraph(graph)).toEqual(want[i]!.shape);
          expect(Array.from(v.data), describeRandomGraph(graph)).toEqual(Array.from(want[i]!.data));
        });
        // A second run reuses the plan and gives the same values again.
        expect(program.run(used).map((v) => Array.from(v.data))).toEqual(want.map((v) => Array.from(v.data)));
        expect(program.planCount).toBe(1);
      }),
      { numRuns: 150 },
    );
  });

  it("on random graphs with the optimizer, up to the rounding its rewrites change", () => {
    fc.assert(
      fc.property(randomGraphCase(), ({ graph, feeds }) => {
        const { outputs } = buildRandomGraph(graph);
        const g = tg.buildGraph(outputs);
        const used = usedFeeds(feeds, outputs);
        const want = evaluate(g.outputs, used);
        const got = compile(g).run(used);
        got.forEach((v, i) => expect(close(v, want[i]!), describeRandomGraph(graph)).toBeUndefined());
      }),
      { numRuns: 100 },
    );
  });

  /** mulberry32, so failures reproduce. */
  const seeded = (seed: number): (() => number) => {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };
  const sample = (domain: Domain, n: number, dtype: DType, rand: () => number): number[] =>
    Array.from({ length: n }, (_, i) => {
      switch (domain.kind) {
        case "index":
          return Math.floor(rand() * domain.size);
        case "bool":
          return rand() < 0.5 ? 0 : 1;
        case "real":
          return domain.lo + rand() * (domain.hi - domain.lo);
        case "awayFromZero":
          return (rand() < 0.5 ? -1 : 1) * (domain.lo + rand() * (domain.hi - domain.lo));
        case "distinct":
          return -domain.hi + ((i + 0.5) * 2 * domain.hi) / n;
      }
    }).map((v) => (dtype === "bool" ? (v ? 1 : 0) : v));
  /** The row's graph with every f64 leaf and dtype param as f32 (undefined when a rule rejects it). */
  const asF32 = (root: Node): Node | undefined => {
    const memo = new Map<Node, Node | undefined>();
    const visit = (n: Node): Node | undefined => {
      if (memo.has(n)) return memo.get(n);
      const inputs = n.inputs.map(visit);
      let out: Node | undefined;
      if (inputs.every((i): i is Node => i !== undefined)) {
        const p = n.params as { readonly dtype?: DType };
        const params = p.dtype === "f64" ? { ...n.params, dtype: "f32" } : n.params;
        const rule = inferShape(n.op, inputs, params as never);
        out = E.isRight(rule) ? makeNode({ op: n.op, params: params as never, inputs, shape: rule.right.shape, dtype: rule.right.dtype, loc: n.loc }) : undefined;
      }
      memo.set(n, out);
      return out;
    };
    return visit(root);
  };

  it("on every op-spec row in f64 and f32, bit for bit without the optimizer", () => {
    const rand = seeded(11);
    let checked = 0;
    for (const row of opSpecTable) {
      const f64Root = row.build(row.inputs.map((s, i) => tg.input(`in${i}`, s.shape, s.dtype))).node;
      for (const root of [f64Root, asF32(f64Root)]) {
        if (root === undefined) continue;
        const g = tg.buildGraph({ out: { node: root } as tg.AnyTensor });
        const feeds: Record<string, TensorValue> = {};
        for (const leaf of tg.graphInputs(g).concat(tg.graphParams(g))) {
          if (leaf.op !== Op.Input && leaf.op !== Op.Param) continue;
          const shape = leaf.shape as readonly number[];
          const m = /^in(\d+)$/.exec(leaf.params.name);
          const domain: Domain = m === null ? { kind: "real", lo: -2, hi: 2 } : row.inputs[Number(m[1])]!.domain;
          feeds[leaf.params.name] = tensorValue(leaf.dtype, shape, sample(domain, shape.reduce((a, b) => a * b, 1), leaf.dtype, rand));
        }
        const [want] = evaluate(g.outputs, feeds);
        const [got] = compile(g, { optimize: false, backend: "js" }).run(feeds);
        expect(got!.shape, row.name).toEqual(want!.shape);
        expect(got!.dtype, row.name).toBe(want!.dtype);
        expect(Array.from(got!.data), `${row.name} (${root.dtype})`).toEqual(Array.from(want!.data));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(opSpecTable.length * 1.5);
  });
});

describe("training steps", () => {
  it.each(["sgd", "adam"] as const)("a %s training step graph (loss, new params, optimizer state) runs as the interpreter runs it", (name) => {
    const x = tg.input("x", [tg.sym("batch"), 5], "f64");
    const labels = tg.input("labels", [tg.sym("batch")], "i32");
    const params = tg.mlp.init("net", [5, 7, 3], { dtype: "f64" });
    const logits = tg.mlp(params, tg.tanh)(x) as tg.Tensor<readonly [tg.Sym<"batch">, 3], "f64">;
    const step = tg.buildTrainStep({ loss: tg.softmaxCrossEntropy(logits, labels), params, optimizer: name === "sgd" ? tg.sgd() : tg.adam(), metrics: { logits } });
    // The trainer feeds the step counter to every optimizer, used or not (SGD ignores it).
    const program = compile(step.graph, { allowExtraFeeds: true });
    let feeds: Record<string, TensorValue> = {
      ...tg.initParams(step.graph, 3)[0],
      x: f64([4, 5], wave(20)),
      labels: tensorValue("i32", [4], [0, 2, 1, 2]),
      "opt.lr": f64([], [0.1]),
      "opt.step": f64([], [1]),
    };
    for (const s of step.stateLeaves) feeds[s.input] = f64(feeds[s.param]!.shape, new Array<number>(feeds[s.param]!.data.length).fill(0));
    for (let k = 0; k < 3; k++) {
      const got = program.runNamed(feeds);
      const want = evaluate(step.graph.outputs, feeds, { allowExtraFeeds: true });
      step.graph.outputNames.forEach((n, i) => expect(close(got[n]!, want[i]!), n).toBeUndefined());
      // feed the new params and state back, as a training loop does
      const next: Record<string, TensorValue> = { ...feeds, "opt.step": f64([], [k + 2]) };
      for (const p of step.paramNames) next[p] = got[tg.stepOutputs.param(p)]!;
      for (const s of step.stateLeaves) next[s.input] = got[tg.stepOutputs.state(s.input)]!;
      feeds = next;
    }
    expect(program.planCount).toBe(1);
  });
});

describe("symbolic dims and plan reuse", () => {
  const x = tg.input("x", [tg.sym("batch"), 6], "f64");
  const W = tg.param("W", [6, 4], "f64");
  const b = tg.param("b", [4], "f64");
  const logits = tg.add(tg.matmul(tg.tanh(x), W), b);
  const g = tg.buildGraph({ probs: tg.softmax(logits, -1), total: tg.sum(logits) });
  const params = { W: f64([6, 4], wave(24, 0.3)), b: f64([4], [0.1, -0.2, 0.3, 0]) };

  it("binds the batch at two sizes, with one plan per size, reused for later runs", () => {
    const program = compile(g);
    const small = { x: f64([3, 6], wave(18)), ...params };
    const large = { x: f64([17, 6], wave(102, 0.7)), ...params };
    for (const feeds of [small, large]) {
      const got = program.runNamed(feeds);
      const want = evaluate(g.outputs, feeds);
      expect(close(got.probs!, want[0]!)).toBeUndefined();
      expect(close(got.total!, want[1]!)).toBeUndefined();
    }
    expect(program.planCount).toBe(2);
    const plan = program.plan(small);
    expect(plan.bindings.get("batch")).toBe(3);
    expect(program.plan({ ...small, x: f64([3, 6], wave(18, 2)) })).toBe(plan);
    expect(program.plan(large)).not.toBe(plan);
    expect(program.plan(large).shapes.some((s) => s[0] === 17)).toBe(true);
    expect(program.planCount).toBe(2);
  });

  it("profiles the plan of a binding: every step once, slowest first", () => {
    const program = compile(g);
    const feeds = { x: f64([5, 6], wave(30)), ...params };
    const timings = program.profile(feeds, 3);
    const plan = program.plan(feeds);
    expect(program.planCount).toBe(1);
    expect(timings.map((t) => t.step).sort((a, b) => a.slot - b.slot)).toEqual([...plan.steps].sort((a, b) => a.slot - b.slot));
    for (let i = 1; i < timings.length; i++) expect(timings[i - 1]!.ms).toBeGreaterThanOrEqual(timings[i]!.ms);
    expect(timings.every((t) => t.ms >= 0)).toBe(true);
    expect(() => program.profile(feeds, 0)).toThrow(/runs: runs must be a positive integer, got 0/);
  });

  it("keeps at most maxPlans plans, dropping the least recently used", () => {
    const program = compile(g, { maxPlans: 2 });
    const feeds = (n: number) => ({ x: f64([n, 6], wave(6 * n)), ...params });
    const first = program.plan(feeds(1));
    program.plan(feeds(2));
    expect(program.plan(feeds(1))).toBe(first); // 1 is now the most recent
    program.plan(feeds(3)); // evicts 2
    expect(program.planCount).toBe(2);
    expect(program.plan(feeds(1))).toBe(first);
    expect(() => compile(g, { maxPlans: 0 })).toThrow(/options.maxPlans: maxPlans must be a positive integer/);
  });

  it("reports feed errors with the binder's messages and types", () => {
    const program = compile(g);
    const cases: Record<string, TensorValue>[] = [
      { W: params.W, b: params.b },
      { x: f64([3, 5], wave(15)), ...params },
      { x: tensorValue("f32", [3, 6], wave(18)), ...params },
      { x: f64([3, 6], wave(18)), ...params, typo: params.b },
      { x: { dtype: "f64", shape: [3, 6], data: new Float64Array(5) }, ...params },
    ];
    for (const feeds of cases) {
      const e = thrown(() => program.run(feeds));
      expect(e).toBeInstanceOf(FeedError);
      const direct = bindFeeds(g.nodes, feeds);
      expect(E.isLeft(direct) && direct.left.message).toBe(e.message);
    }
    expect(thrown(() => program.run(cases[0]!)).message).toContain(`missing feed for input 'x' (declared f64[batch, 6] at ${formatLoc(x.node.loc)})`);
    // allowExtraFeeds lets a shared feed record through
    expect(compile(g, { allowExtraFeeds: true }).run(cases[3]!)).toHaveLength(2);
  });

  it("asks for every leaf the graph declares, even one the optimizer removed", () => {
    const y = tg.input("y", [2], "f64");
    const z = tg.input("z", [2], "f64");
    const gz = tg.buildGraph(tg.add(y, tg.mul(tg.stopGradient(z), 0)));
    const program = compile(gz);
    expect(program.feedNames).toEqual(["y", "z"]);
    expect(thrown(() => program.run({ y: f64([2], [1, 2]) }))).toBeInstanceOf(FeedError);
    expect(Array.from(program.run({ y: f64([2], [1, 2]), z: f64([2], [3, 4]) })[0]!.data)).toEqual([1, 2]);
  });
});

describe("outputs", () => {
  const x = tg.input("x", [2, 3], "f64");
  const h = tg.exp(x);
  const g = tg.buildGraph({ h, flat: tg.reshape(h, [6]), x, c: tg.constant([1, 2], [2], "f64"), s: tg.sum(h) });
  const feeds = { x: f64([2, 3], [0, 1, 2, 3, 4, 5]) };

  it("selects outputs by name, in the order asked; unknown or repeated names are errors with the option's path", () => {
    const program = compile(g, { outputs: ["s", "h"] });
    expect(program.outputNames).toEqual(["s", "h"]);
    const [s, hv] = program.run(feeds);
    expect(s!.shape).toEqual([]);
    expect(hv!.shape).toEqual([2, 3]);
    const e = thrown(() => compile(g, { outputs: ["h", "nope"] }));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe("options.outputs[1]: graph 'graph' has no output 'nope' (its outputs are 'h', 'flat', 'x', 'c', 's')");
    expect(thrown(() => compile(g, { outputs: ["h", "h"] })).message).toContain("output 'h' is selected twice");
  });

  it("outputs are fresh arrays: never a feed, a constant or another output's data, and intact after later runs", () => {
    const program = compile(g, { optimize: false });
    const first = program.runNamed(feeds);
    expect(first.x!.data).not.toBe(feeds.x.data);
    expect(Array.from(first.x!.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(first.flat!.data).not.toBe(first.h!.data);
    expect(first.flat!.shape).toEqual([6]);
    expect(Array.from(first.c!.data)).toEqual([1, 2]);
    const snapshot = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, Array.from(v.data)]));
    (first.c!.data as Float64Array)[0] = 99;
    const second = program.runNamed({ x: f64([2, 3], [5, 4, 3, 2, 1, 0]) });
    expect(Array.from(second.c!.data)).toEqual([1, 2]);
    (first.c!.data as Float64Array)[0] = 1;
    expect(Object.fromEntries(Object.entries(first).map(([k, v]) => [k, Array.from(v.data)]))).toEqual(snapshot);
    expect(Array.from(feeds.x.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("a node requested under two names is one value, as in the interpreter", () => {
    const y = tg.neg(x);
    const [a, b2] = compile(tg.buildGraph([y, y])).run(feeds);
    expect(a).toBe(b2);
  });
});

describe("errors", () => {
  it("an invalid graph is a CompileFailure naming the node and the user's line", () => {
    const a = tg.input("a", [2, 3], "f64");
    const bad = makeNode({ op: Op.Add, params: {}, inputs: [a.node, a.node], shape: [3, 2], dtype: "f64", loc: { file: "model.ts", line: 42, column: 3 } });
    const e = thrown(() => compile(tg.buildGraph({ out: { node: bad } as tg.AnyTensor })));
    expect(e).toBeInstanceOf(CompileFailure);
    expect(e.message).toContain("model.ts:42");
  });

  it("a bad index at run time is a RangeError naming the op and the user's line", () => {
    const table = tg.input("table", [3, 2], "f64");
    const ids = tg.input("ids", [2], "i32");
    const picked = tg.gather(table, ids, 0);
    const program = compile(tg.buildGraph(tg.exp(picked)));
    const e = thrown(() => program.run({ table: f64([3, 2], wave(6)), ids: tensorValue("i32", [2], [0, 7]) }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toContain(`gather at ${formatLoc(picked.node.loc)}`);
  });
});
