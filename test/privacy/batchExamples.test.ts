/**
 * batchExamples (graph-level vmap): for every op of the op-spec table and for random
 * graphs, the batched graph computes for every example what the per-example graph
 * computes on that example alone, whichever inputs are per-example and whether the batch
 * dim is symbolic or concrete. Refusals name the op, why, and the user's line.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op, type RuntimeDim } from "../../src/ops.js";
import { batchExamples } from "../../compiler/passes/batchExamples.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { conv2dOp } from "../../src/dsl/windowOps.js";
import { opSpecTable, type OpSpecRow } from "../support/opspec.js";
import { buildRandomGraph, feedsFor, inputLeaves, randomGraph, describeRandomGraph } from "../support/randomGraph.js";
import { rngFromSeed, type RngState } from "../../src/random.js";
import type { TensorValue } from "../../runtime/value.js";
import { expectSameAsEachExample, sampleValue } from "./support.js";

const EXAMPLES = 3;

/** Why a row may be refused when the given inputs are per-example (undefined: it must work). */
const expectedRefusal = (row: OpSpecRow, perExample: readonly number[], batch: RuntimeDim): RegExp | undefined => {
  if (row.op === Op.RandomUniform && perExample.includes(1)) return /random key differs per example/;
  if ((row.op === Op.Conv2d || row.op === Op.Conv2dBackpropInput) && perExample.includes(1)) return /weights \(input 1\) differ per example/;
  if (row.op === Op.Conv2dBackpropFilter && typeof batch !== "number") return /need a concrete batch size/;
  const window: readonly Op[] = [Op.Conv2d, Op.Conv2dBackpropInput, Op.MaxPool2d, Op.MaxPool2dBackprop, Op.MaxPool2dSelect, Op.AvgPool2d, Op.AvgPool2dBackprop];
  if (window.includes(row.op) && typeof batch !== "number" && row.inputs[0]!.shape[0] !== 1) return /folding the batch dim batch into the leading axis of size \d+ needs concrete sizes/;
  return undefined;
};

const subsetsOf = (n: number): number[][] => (n <= 1 ? [[0]] : [Array.from({ length: n }, (_, i) => i), ...Array.from({ length: n }, (_, i) => [i])]);

describe("batchExamples on every op of the op-spec table", () => {
  const cases = opSpecTable
    .filter((row) => row.inputs.length > 0)
    .flatMap((row) => subsetsOf(row.inputs.length).flatMap((subset) => (["batch", EXAMPLES] as const).map((batch) => [`${row.name} | per-example inputs ${subset.join(",")} | batch ${batch}`, row, subset, batch] as const)));

  it.each(cases)("%s", (_, row, subset, batch) => {
    const xs = row.inputs.map((s, i) => tg.input(`in${i}`, s.shape, s.dtype));
    const g = tg.buildGraph({ out: row.build(xs) }, row.name);
    const result = batchExamples(g, { inputs: subset.map((i) => `in${i}`), batch });
    const refusal = expectedRefusal(row, subset, batch);
    if (refusal !== undefined) {
      expect(E.isLeft(result)).toBe(true);
      if (E.isLeft(result)) expect(result.left.message).toMatch(refusal);
      return;
    }
    if (E.isLeft(result)) throw new Error(result.left.message);
    expect(E.isRight(verifyGraph(result.right))).toBe(true);
    let rng: RngState = rngFromSeed(row.name.length * 31 + subset.length);
    const draw = (i: number): TensorValue => {
      const spec = row.inputs[i]!;
      const [v, next] = sampleValue(spec.dtype, spec.shape, spec.domain, rng);
      rng = next;
      return v;
    };
    const shared: Record<string, TensorValue> = {};
    row.inputs.forEach((_s, i) => {
      if (!subset.includes(i)) shared[`in${i}`] = draw(i);
    });
    const examples = Array.from({ length: EXAMPLES }, () => Object.fromEntries(subset.map((i) => [`in${i}`, draw(i)])));
    expectSameAsEachExample(g, result.right, examples, shared);
  });
});

describe("batchExamples on random graphs", () => {
  it("matches per-example evaluation for random subsets of per-example inputs", () => {
    const arb = randomGraph().chain((rg) =>
      fc.record({
        rg: fc.constant(rg),
        examples: fc.array(feedsFor(rg), { minLength: EXAMPLES, maxLength: EXAMPLES }),
        picks: fc.array(fc.boolean(), { minLength: inputLeaves(rg).length, maxLength: inputLeaves(rg).length }),
        symbolic: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ rg, examples, picks, symbolic }) => {
        const { outputs } = buildRandomGraph(rg);
        const g = tg.buildGraph(outputs, "random");
        const leaves = inputLeaves(rg);
        const inGraph = new Set(g.nodes.flatMap((n) => (n.op === Op.Input ? [n.params.name] : [])));
        const perExample = leaves.filter((l, i) => picks[i] === true && inGraph.has(l.name)).map((l) => l.name);
        const result = batchExamples(g, { inputs: perExample, batch: symbolic ? "examples" : EXAMPLES });
        if (symbolic && perExample.length === 0) {
          expect(E.isLeft(result) && result.left.message.includes("no feed could bind the symbolic batch dim 'examples'")).toBe(true);
          return;
        }
        if (E.isLeft(result)) throw new Error(`${result.left.message}\n${describeRandomGraph(rg)}`);
        const shared = Object.fromEntries(Object.entries(examples[0]!).filter(([k]) => inGraph.has(k) && !perExample.includes(k)));
        const each = examples.map((e) => Object.fromEntries(perExample.map((k) => [k, e[k]!])));
        expectSameAsEachExample(g, result.right, each, shared, 1e-9);
      }),
      { numRuns: 80, seed: 11 },
    );
  });
});

describe("batchExamples on gradient graphs of random models", () => {
  it("gives each example's gradient with respect to the shared leaves", () => {
    const arb = randomGraph({ smooth: true }).chain((rg) =>
      fc.record({
        rg: fc.constant(rg),
        examples: fc.array(feedsFor(rg), { minLength: EXAMPLES, maxLength: EXAMPLES }),
        picks: fc.array(fc.boolean(), { minLength: inputLeaves(rg).length, maxLength: inputLeaves(rg).length }),
      }),
    );
    let checked = 0;
    fc.assert(
      fc.property(arb, ({ rg, examples, picks }) => {
        const { inputs, outputs } = buildRandomGraph(rg);
        const leaves = inputLeaves(rg);
        const floats = outputs.filter((o) => o.node.dtype === "f64");
        const params = inputs.filter((_, i) => picks[i] !== true && leaves[i]!.dtype === "f64");
        const perExample = leaves.filter((l, i) => picks[i] === true).map((l) => l.name);
        if (floats.length === 0 || params.length === 0) return;
        const loss = floats.map((o) => tg.sum(o)).reduce((a, b) => tg.add(a, b));
        const grads = tg.grad(loss, params);
        const g = tg.buildGraph(Object.fromEntries([["loss", loss], ...grads.map((d, i) => [`d${i}`, d] as const)]), "perExampleGrad");
        const inGraph = new Set(g.nodes.flatMap((n) => (n.op === Op.Input ? [n.params.name] : [])));
        const batchedNames = perExample.filter((n) => inGraph.has(n));
        if (batchedNames.length === 0) return;
        const result = batchExamples(g, { inputs: batchedNames, batch: "examples" });
        if (E.isLeft(result)) throw new Error(`${result.left.message}\n${describeRandomGraph(rg)}`);
        const shared = Object.fromEntries(Object.entries(examples[0]!).filter(([k]) => inGraph.has(k) && !batchedNames.includes(k)));
        const each = examples.map((e) => Object.fromEntries(batchedNames.map((k) => [k, e[k]!])));
        expectSameAsEachExample(g, result.right, each, shared, 1e-9);
        checked++;
      }),
      { numRuns: 200, seed: 5 },
    );
    expect(checked).toBeGreaterThan(30);
  });
});

describe("batchExamples: structure and errors", () => {
  const x = tg.input("x", [4], "f64");
  const label = tg.input("label", [], "i32");
  const W = tg.param("W", [4, 3], "f64");
  const b = tg.param("b", [3], "f64");
  const logits = tg.add(tg.matmul(tg.reshape(x, [1, 4]), W), b);
  const loss = tg.softmaxCrossEntropy(logits, tg.reshape(label, [1]));

  it("gives per-example inputs a leading dim, keeps params and shared nodes, batches every output", () => {
    const shared = tg.sum(tg.square(W));
    const g = tg.buildGraph({ loss, shared }, "perExample");
    const batched = E.getOrElseW((e: { message: string }) => {
      throw new Error(e.message);
    })(batchExamples(g, { inputs: ["x", "label"], batch: "n" }));
    const leaf = (name: string): tg.Node => batched.nodes.find((n) => (n.op === Op.Input || n.op === Op.Param) && n.params.name === name)!;
    expect(leaf("x").shape).toEqual(["n", 4]);
    expect(leaf("label").shape).toEqual(["n"]);
    expect(leaf("W").shape).toEqual([4, 3]);
    expect(batched.outputs.map((o) => o.shape)).toEqual([["n"], ["n"]]);
    // The param-only sum is computed once and broadcast, not once per example.
    const sumOfSquares = batched.nodes.filter((n) => n.op === Op.Square && n.inputs[0] === leaf("W"));
    expect(sumOfSquares).toHaveLength(1);
    expect(batched.outputs[1]!.op).toBe(Op.BroadcastTo);
    expect(batched.outputNames).toEqual(["loss", "shared"]);
  });

  it("prints as an ordinary graph", () => {
    const y = tg.tanh(tg.matmul(tg.reshape(x, [1, 4]), W));
    const batched = E.getOrElseW(() => {
      throw new Error("refused");
    })(batchExamples(tg.buildGraph({ y }, "layer"), { batch: "batch" }));
    expect(tg.graphToText(batched, { locations: false })).toMatchInlineSnapshot(`
      "graph layer(x: f64[batch,4], W: f64[4,3]) {
        %2: f64[batch,1,4] = reshape[shape=[batch,1,4]] x
        %3: f64[batch,1,3] = matmul %2 W
        %4: f64[batch,1,3] = tanh %3
        return y=%4
      }"
    `);
  });

  it("refuses an op it cannot batch, naming the op, the reason and the user's line", () => {
    const image = tg.input("image", [1, 1, 5, 5], "f64");
    const kernel = tg.reshape(tg.slice(tg.reshape(image, [25]), [[0, 9]]), [1, 1, 3, 3]); // weights from the input
    const g = tg.buildGraph({ y: conv2dOp(image, kernel, { strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1 }) }, "conv");
    const result = batchExamples(g, { inputs: ["image"] });
    expect(E.isLeft(result)).toBe(true);
    if (E.isLeft(result)) {
      expect(result.left.pass).toBe("batchExamples");
      expect(result.left.message).toMatch(/conv2d f64\[1,1,3,3\]/);
      expect(result.left.message).toMatch(/cannot compute conv2d for a batch of examples: its weights \(input 1\) differ per example/);
      expect(result.left.message).toMatch(/test\/privacy\/batchExamples\.test\.ts:\d+/);
    }
  });

  it("rejects unknown names, params, a batch dim the graph already uses, and bad sizes", () => {
    const g = tg.buildGraph({ loss }, "perExample");
    const message = (r: ReturnType<typeof batchExamples>): string => (E.isLeft(r) ? r.left.message : "accepted");
    expect(message(batchExamples(g, { inputs: ["y"] }))).toMatch(/'y' is not a leaf of the graph \(the graph's inputs are 'label', 'x'\)/);
    expect(message(batchExamples(g, { inputs: ["W"] }))).toMatch(/'W' is a param: params are shared by all examples/);
    expect(message(batchExamples(g, { batch: 0 }))).toMatch(/batch dim 0 must be a positive integer or a symbolic name/);
    expect(message(batchExamples(g, { batch: "not a name" }))).toMatch(/must be a positive integer or a symbolic name/);
    const z = tg.input("z", [tg.sym("batch"), 4], "f64");
    const g2 = tg.buildGraph({ s: tg.sum(z) }, "hasBatch");
    expect(message(batchExamples(g2, { batch: "batch" }))).toMatch(/the batch dim 'batch' is already a dim of the graph/);
  });
});
