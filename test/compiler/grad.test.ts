/**
 * Gradient checks against finite differences, in float64 on fast-check inputs:
 * - every row of the op-spec table (first order; second order for `secondOrder` rows via
 *   Hessian-vector products, i.e. grad of grad); "zero" rows give exactly zero gradients;
 *   "none" rows refuse to differentiate with respect to their integer inputs;
 * - random composed graphs from `test/support/randomGraph.ts` (smooth mode), whose
 *   gradient graphs must also pass `verifyGraph`.
 *
 * Error measure: |symbolic - numeric| / max(1, |symbolic|, |numeric|) <= 1e-6, with
 * central differences of `sum(out * w)` for a random weight `w`, so every output entry
 * matters.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as tg from "../../src/index.js";
import { ALL_OPS, Op, isFloat } from "../../src/ops.js";
import { wrap, type AnyTensor } from "../../src/tensor.js";
import { makeNode, type Node, type NodeSpec } from "../../src/graph/node.js";
import { grad, GradError } from "../../src/autodiff.js";
import * as E from "fp-ts/lib/Either.js";
import { evaluate } from "../../runtime/interpret.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { opSpecTable, type Domain, type OpSpecRow } from "../support/opspec.js";
import { buildRandomGraph, describeRandomGraph, domainValues, inputLeaves, randomGraphCase } from "../support/randomGraph.js";

const TOLERANCE = 1e-6;
const STEP = 1e-5;
/**
 * Rows whose function is linear but rounds through f32: a small step would measure f32
 * rounding (ulp / 2h), so they use a step where that is below the tolerance.
 */
const STEP_OVERRIDES: Readonly<Record<string, number>> = { "cast f64->f32->f64": 0.25 };

type Feeds = Record<string, TensorValue>;
interface Wrt {
  readonly name: string;
  readonly tensor: AnyTensor;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const concreteShape = (t: AnyTensor): number[] => t.node.shape.map((d) => d as number);
const relativeError = (a: number, n: number): number => Math.abs(a - n) / Math.max(1, Math.abs(a), Math.abs(n));
const weightDomain: Domain = { kind: "real", lo: -1, hi: 1 };

const run = (ts: readonly AnyTensor[], feeds: Feeds): TensorValue[] => evaluate(ts.map((t) => t.node), feeds, { allowExtraFeeds: true });

/** sum_i sum(out_i * w_i) in f64 (discrete outputs are cast first). */
const weightedLoss = (outs: readonly AnyTensor[], weights: readonly (readonly number[])[]): AnyTensor =>
  outs
    .map((o, i) => tg.sum(tg.mul(o.node.dtype === "f64" ? o : tg.cast(o, "f64"), tg.constant(weights[i]!, concreteShape(o), "f64"))))
    .reduce((a, b) => tg.add(a, b));

const perturbed = (feeds: Feeds, name: string, delta: (k: number) => number): Feeds => {
  const base = feeds[name]!;
  const data = Float64Array.from(base.data, (v, k) => v + delta(k));
  return { ...feeds, [name]: { ...base, data } };
};

/** Same as `perturbed`, along a direction per wrt leaf. */
const moved = (feeds: Feeds, wrt: readonly Wrt[], direction: readonly (readonly number[])[], h: number): Feeds =>
  wrt.reduce((f, w, i) => perturbed(f, w.name, (k) => h * direction[i]![k]!), feeds);

/**
 * The loss with every stopGradient(e) replaced by a constant holding e's value at `feeds`:
 * the function whose derivative the symbolic gradient is.
 */
const freezeStopGradients = (loss: AnyTensor, feeds: Feeds): AnyTensor => {
  const stops: Node[] = [];
  const seen = new Set<Node>();
  const collect = (n: Node): void => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.op === Op.StopGradient) stops.push(n);
    else n.inputs.forEach(collect);
  };
  collect(loss.node);
  if (stops.length === 0) return loss;
  const values = evaluate(stops, feeds, { allowExtraFeeds: true });
  const frozen = new Map<Node, Node>(stops.map((n, i) => [n, tg.constant(Array.from(values[i]!.data), values[i]!.shape, n.dtype).node]));
  const rebuild = (n: Node): Node => {
    const done = frozen.get(n);
    if (done !== undefined) return done;
    const inputs = n.inputs.map(rebuild);
    const out = inputs.every((x, i) => x === n.inputs[i]) ? n : makeNode({ ...n, inputs } as NodeSpec<Op>);
    frozen.set(n, out);
    return out;
  };
  return wrap(rebuild(loss.node));
};

/** Checks grad(loss) against central differences, element by element; returns the symbolic gradients. */
const checkFirstOrder = (label: string, loss: AnyTensor, wrt: readonly Wrt[], feeds: Feeds, h: number): readonly AnyTensor[] => {
  const grads = grad(loss, wrt.map((w) => w.tensor));
  const values = run(grads, feeds);
  const reference = freezeStopGradients(loss, feeds);
  wrt.forEach((w, i) => {
    const symbolic = values[i]!.data;
    for (let k = 0; k < symbolic.length; k++) {
      const up = run([reference], perturbed(feeds, w.name, (j) => (j === k ? h : 0)))[0]!.data[0]!;
      const down = run([reference], perturbed(feeds, w.name, (j) => (j === k ? -h : 0)))[0]!.data[0]!;
      const numeric = (up - down) / (2 * h);
      expect(relativeError(symbolic[k]!, numeric), `${label}: d/d${w.name}[${k}] symbolic ${symbolic[k]} vs numeric ${numeric}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });
  return grads;
};

/** Hessian-vector product by grad of grad, against central differences of the gradient along `direction`. */
const checkSecondOrder = (label: string, grads: readonly AnyTensor[], wrt: readonly Wrt[], direction: readonly (readonly number[])[], feeds: Feeds, h: number): void => {
  const inner = grads.map((g, i) => tg.sum(tg.mul(g, tg.constant(direction[i]!, concreteShape(wrt[i]!.tensor), "f64")))).reduce((a, b) => tg.add(a, b));
  const hvp = run(grad(inner, wrt.map((w) => w.tensor)), feeds);
  const up = run(grads, moved(feeds, wrt, direction, h));
  const down = run(grads, moved(feeds, wrt, direction, -h));
  wrt.forEach((w, i) => {
    hvp[i]!.data.forEach((a, k) => {
      const numeric = (up[i]!.data[k]! - down[i]!.data[k]!) / (2 * h);
      expect(relativeError(a, numeric), `${label}: (Hv)[${w.name}][${k}] symbolic ${a} vs numeric ${numeric}`).toBeLessThanOrEqual(TOLERANCE);
    });
  });
};

/** Builds a row over input leaves `a0, a1, ...` and the weighted loss of its output. */
const buildRow = (row: OpSpecRow) => {
  const leaves = row.inputs.map((spec, i) => tg.input(`a${i}`, spec.shape, spec.dtype));
  const out = row.build(leaves);
  const floatIdx = row.inputs.flatMap((spec, i) => (isFloat(spec.dtype) ? [i] : []));
  const wrt: Wrt[] = floatIdx.map((i) => ({ name: `a${i}`, tensor: leaves[i]! }));
  return { leaves, out, wrt, floatIdx };
};

const rowCase = (row: OpSpecRow, outShape: readonly number[], floatIdx: readonly number[]) =>
  fc.record({
    values: fc.tuple(...row.inputs.map((spec) => domainValues(spec.domain, numel(spec.shape)))),
    weights: domainValues(weightDomain, numel(outShape)),
    direction: fc.tuple(...floatIdx.map((i) => domainValues(weightDomain, numel(row.inputs[i]!.shape)))),
  });

const feedsOf = (row: OpSpecRow, values: readonly (readonly number[])[]): Feeds =>
  Object.fromEntries(row.inputs.map((spec, i) => [`a${i}`, tensorValue(spec.dtype, spec.shape, values[i]!)]));

describe("gradients of every op-spec row match finite differences (float64)", () => {
  for (const row of opSpecTable.filter((r) => r.inputs.length > 0)) {
    const title = `${row.name} (${row.grad}${row.secondOrder === true ? ", second order" : ""})`;
    it(title, () => {
      const { out, wrt, floatIdx, leaves } = buildRow(row);
      if (row.grad === "none") {
        expect(wrt).toEqual([]);
        for (const leaf of leaves) expect(() => grad(weightedLoss([out], [new Array<number>(numel(concreteShape(out))).fill(1)]), [leaf])).toThrow(GradError);
        return;
      }
      const h = STEP_OVERRIDES[row.name] ?? STEP;
      fc.assert(
        fc.property(rowCase(row, concreteShape(out), floatIdx), ({ values, weights, direction }) => {
          const feeds = feedsOf(row, values);
          const loss = weightedLoss([out], [weights]);
          if (row.grad === "zero") {
            for (const g of run(grad(loss, wrt.map((w) => w.tensor)), feeds)) expect(Array.from(g.data).every((v) => v === 0)).toBe(true);
            return;
          }
          const grads = checkFirstOrder(row.name, loss, wrt, feeds, h);
          if (row.secondOrder === true) checkSecondOrder(row.name, grads, wrt, direction, feeds, h);
        }),
        { numRuns: row.grad === "zero" ? 10 : 12 },
      );
    });
  }

  it("checks a gradient for every op but param (a leaf, checked in grad-api) and oneHot (integer input only)", () => {
    const checked = new Set(opSpecTable.filter((r) => r.grad !== "none" && r.inputs.length > 0).map((r) => r.op));
    expect(ALL_OPS.filter((op) => !checked.has(op))).toEqual([Op.Param, Op.OneHot]);
  });
});

describe("random composed graphs (smooth mode) match finite differences", () => {
  const graphCase = randomGraphCase({ smooth: true, maxSteps: 6 }).chain(({ graph, feeds }) => {
    const outs = buildRandomGraph(graph).outputs;
    return fc
      .tuple(...outs.map((o) => domainValues(weightDomain, numel(concreteShape(o)))), ...inputLeaves(graph).map((l) => domainValues(weightDomain, numel(l.shape))))
      .map((ws) => ({ graph, feeds, weights: ws.slice(0, outs.length), direction: ws.slice(outs.length) }));
  });

  it("first order", () => {
    fc.assert(
      fc.property(graphCase, ({ graph, feeds, weights }) => {
        const { inputs, outputs } = buildRandomGraph(graph);
        const wrt = inputLeaves(graph).flatMap((l, i) => (l.dtype === "f64" ? [{ name: l.name, tensor: inputs[i]! }] : []));
        const grads = checkFirstOrder(describeRandomGraph(graph), weightedLoss(outputs, weights), wrt, feeds, STEP);
        const verified = verifyGraph(tg.buildGraph(grads.length > 0 ? grads : outputs));
        expect(E.isRight(verified) ? "ok" : verified.left.message).toBe("ok");
      }),
      { numRuns: 60 },
    );
  });

  it("second order (Hessian-vector products)", () => {
    fc.assert(
      fc.property(graphCase, ({ graph, feeds, weights, direction }) => {
        const { inputs, outputs } = buildRandomGraph(graph);
        const pick = inputLeaves(graph).flatMap((l, i) => (l.dtype === "f64" ? [i] : []));
        fc.pre(pick.length > 0);
        const wrt = pick.map((i) => ({ name: inputLeaves(graph)[i]!.name, tensor: inputs[i]! }));
        const grads = grad(weightedLoss(outputs, weights), wrt.map((w) => w.tensor));
        checkSecondOrder(describeRandomGraph(graph), grads, wrt, pick.map((i) => direction[i]!), feeds, STEP);
      }),
      { numRuns: 30 },
    );
  });
});
