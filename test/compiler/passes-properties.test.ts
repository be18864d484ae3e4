/**
 * Property tests of the optimization passes over random graphs: evaluating a graph before
 * and after a pass gives the same values (float64, relative tolerance 1e-12, NaN equals
 * NaN), the result passes verifyGraph, and the pipeline reaches a fixed point without ever
 * adding nodes. A second family feeds NaN, ±inf and ±0 to check that the rewrites are exact
 * for special values too (up to the sign of zero, the documented liberty).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { buildGraph, type Graph } from "../../src/graph/graph.js";
import { evaluate } from "../../runtime/interpret.js";
import type { TensorValue } from "../../runtime/value.js";
import { tensorValue } from "../../runtime/value.js";
import type { CompileError } from "../../compiler/errors.js";
import { eliminateCommonSubexpressions } from "../../compiler/passes/eliminateCommonSubexpressions.js";
import { foldConstants } from "../../compiler/passes/foldConstants.js";
import { simplifyAlgebra } from "../../compiler/passes/simplifyAlgebra.js";
import { eliminateDeadNodes } from "../../compiler/passes/eliminateDeadNodes.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { optimizeGraph } from "../../compiler/pipeline.js";
import { buildRandomGraph, describeRandomGraph, domainValues, inputLeaves, randomGraph, randomGraphCase, usedFeeds, type RandomGraph } from "../support/randomGraph.js";

type Pass = (g: Graph) => E.Either<CompileError, Graph>;

const RUNS = 250;

const graphOf = (rg: RandomGraph): Graph => buildGraph(buildRandomGraph(rg).outputs, "random");

const sameNumber = (a: number, b: number, exactZeros: boolean): boolean =>
  (Number.isNaN(a) && Number.isNaN(b)) || (exactZeros ? Object.is(a, b) : a === b) || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

/** First difference between two evaluations, as text, or undefined. */
const difference = (before: readonly TensorValue[], after: readonly TensorValue[]): string | undefined => {
  if (before.length !== after.length) return `${before.length} outputs before, ${after.length} after`;
  for (const [k, b] of before.entries()) {
    const a = after[k]!;
    if (a.dtype !== b.dtype || a.shape.join(",") !== b.shape.join(",")) return `output ${k}: ${b.dtype}[${b.shape}] before, ${a.dtype}[${a.shape}] after`;
    for (let i = 0; i < b.data.length; i++)
      if (!sameNumber(b.data[i]!, a.data[i]!, false)) return `output ${k}[${i}]: ${b.data[i]} before, ${a.data[i]} after`;
  }
  return undefined;
};

const checkPass = (pass: Pass, rg: RandomGraph, feeds: Record<string, TensorValue>, g: Graph = graphOf(rg)): void => {
  const out = pass(g);
  if (E.isLeft(out)) throw new Error(`${out.left.message}\n${describeRandomGraph(rg)}`);
  const verified = verifyGraph(out.right);
  if (E.isLeft(verified)) throw new Error(`${verified.left.message}\n${describeRandomGraph(rg)}`);
  expect(out.right.outputNames).toEqual(g.outputNames);
  const diff = difference(evaluate(g.outputs, usedFeeds(feeds, g.outputs)), evaluate(out.right.outputs, usedFeeds(feeds, out.right.outputs)));
  expect(diff, describeRandomGraph(rg)).toBeUndefined();
};

const pipeline: Pass = (g) => E.map((o: { graph: Graph }) => o.graph)(optimizeGraph(g, { verify: true }));

const passes: readonly (readonly [string, Pass])[] = [
  ["eliminateCommonSubexpressions", eliminateCommonSubexpressions],
  ["foldConstants", foldConstants],
  ["simplifyAlgebra", simplifyAlgebra],
  ["eliminateDeadNodes", eliminateDeadNodes],
  ["optimizeGraph (all passes, verified between)", pipeline],
];

describe("passes preserve values on random graphs", () => {
  it.each(passes)("%s", (_, pass) => {
    fc.assert(fc.property(randomGraphCase(), ({ graph, feeds }) => checkPass(pass, graph, feeds)), { numRuns: RUNS });
  });
});

/** Feeds where about half the elements are NaN, ±inf or ±0. */
const specialFeeds = (rg: RandomGraph): fc.Arbitrary<Record<string, TensorValue>> => {
  const leaves = inputLeaves(rg);
  const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0);
  const element = fc.oneof(special, fc.double({ min: -3, max: 3, noNaN: true }));
  return fc
    .tuple(...leaves.map((l) => (l.dtype === "i32" ? domainValues(l.domain, l.shape.reduce((a, b) => a * b, 1)) : fc.array(element, { minLength: l.shape.reduce((a, b) => a * b, 1), maxLength: l.shape.reduce((a, b) => a * b, 1) }))))
    .map((vals) => Object.fromEntries(leaves.map((l, i) => [l.name, tensorValue(l.dtype, l.shape, vals[i]!)])));
};

describe("rewrites are exact for NaN, ±inf and ±0", () => {
  it.each(passes.filter(([name]) => name !== "foldConstants"))("%s", (_, pass) => {
    fc.assert(
      fc.property(randomGraph().chain((graph) => specialFeeds(graph).map((feeds) => ({ graph, feeds }))), ({ graph, feeds }) => checkPass(pass, graph, feeds)),
      { numRuns: RUNS },
    );
  });
});

describe("optimizeGraph on gradient graphs of random graphs", () => {
  it("keeps the gradients' values, shapes and dtypes", () => {
    fc.assert(
      fc.property(randomGraphCase({ smooth: true }), ({ graph, feeds }) => {
        const { inputs, outputs } = buildRandomGraph(graph);
        const wrt = inputLeaves(graph).flatMap((l, i) => (l.dtype === "f64" ? [inputs[i]!] : []));
        fc.pre(wrt.length > 0);
        const loss = outputs.map((o) => tg.sum(tg.mul(o, o))).reduce((a, b) => tg.add(a, b));
        const grads = tg.grad(loss, wrt);
        checkPass(pipeline, graph, feeds, buildGraph([loss, ...grads], "gradients"));
      }),
      { numRuns: 100 },
    );
  });
});

describe("optimizeGraph", () => {
  it("reaches a fixed point (optimizing again changes nothing) and never adds nodes", () => {
    fc.assert(
      fc.property(randomGraph(), (rg) => {
        const g = graphOf(rg);
        const once = E.getOrElseW((e: CompileError) => {
          throw new Error(e.message);
        })(optimizeGraph(g));
        expect(once.graph.nodes.length).toBeLessThanOrEqual(g.nodes.length);
        const twice = E.getOrElseW((e: CompileError) => {
          throw new Error(e.message);
        })(optimizeGraph(once.graph));
        expect(twice.graph.nodes.map((n) => n.hash), describeRandomGraph(rg)).toEqual(once.graph.nodes.map((n) => n.hash));
        expect(twice.stats.every((s) => s.nodesAfter === s.nodesBefore)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
