/**
 * Helpers for the batching tests: seeded values in an op-spec domain, stacking examples
 * into a batch, taking one example out of a batched value, and the check that a batched
 * graph computes, for every example, what the per-example graph computes on it alone.
 */
import { expect } from "vitest";
import { evaluate } from "../../runtime/interpret.js";
import type { Graph } from "../../src/graph/graph.js";
import { withRng, type RngState } from "../../src/random.js";
import { allocate, tensorValue, type TensorValue } from "../../runtime/value.js";
import type { Domain } from "../support/opspec.js";
import type { DType } from "../../src/ops.js";

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `n` values in `domain`, drawn from `rng`. */
export const domainSample = (domain: Domain, n: number, rng: RngState): [number[], RngState] =>
  withRng(rng, (r) => {
    switch (domain.kind) {
      case "real":
        return Array.from({ length: n }, () => r.nextUniform(domain.lo, domain.hi));
      case "awayFromZero":
        return Array.from({ length: n }, () => r.nextUniform(domain.lo, domain.hi) * (r.nextInt(0, 2) === 0 ? -1 : 1));
      case "distinct": {
        const steps = Math.floor((2 * domain.hi) / domain.gap) + 1;
        const picked = new Set<number>();
        while (picked.size < n) picked.add(r.nextInt(0, steps));
        return [...picked].map((k) => -domain.hi + k * domain.gap);
      }
      case "index":
        return Array.from({ length: n }, () => r.nextInt(0, domain.size));
      case "bool":
        return Array.from({ length: n }, () => r.nextInt(0, 2));
    }
  });

/** A tensor value of `shape` with values in `domain`. */
export const sampleValue = (dtype: DType, shape: readonly number[], domain: Domain, rng: RngState): [TensorValue, RngState] => {
  const [values, next] = domainSample(domain, numel(shape), rng);
  return [tensorValue(dtype, shape, values), next];
};

/** Examples stacked along a new leading axis. */
export const stack = (examples: readonly TensorValue[]): TensorValue => {
  const first = examples[0]!;
  const size = first.data.length;
  const data = allocate(first.dtype, size * examples.length);
  examples.forEach((e, b) => data.set(e.data, b * size));
  return { dtype: first.dtype, shape: [examples.length, ...first.shape], data };
};

/** Example `b` of a batched value. */
export const exampleOf = (v: TensorValue, b: number): TensorValue => {
  const size = numel(v.shape.slice(1));
  return { dtype: v.dtype, shape: v.shape.slice(1), data: v.data.slice(b * size, (b + 1) * size) };
};

/** Asserts two values agree (same shape and dtype, elements within `tol` relative to max(1, |expected|)). */
export const expectClose = (actual: TensorValue, expected: TensorValue, tol: number, what: string): void => {
  expect(actual.dtype, what).toBe(expected.dtype);
  expect([...actual.shape], what).toEqual([...expected.shape]);
  for (let i = 0; i < expected.data.length; i++) {
    const [a, e] = [actual.data[i]!, expected.data[i]!];
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what} [${i}]: NaN expected, got ${a}`).toBe(true);
      continue;
    }
    if (a === e) continue;
    expect(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what} [${i}]: ${a} vs ${e}`).toBe(true);
  }
};

/**
 * Checks `batched` (the result of batchExamples on `perExample`) example by example:
 * `examples[b]` feeds the per-example inputs of example b, `shared` everything else.
 */
export const expectSameAsEachExample = (
  perExample: Graph,
  batched: Graph,
  examples: readonly Readonly<Record<string, TensorValue>>[],
  shared: Readonly<Record<string, TensorValue>>,
  tol = 1e-12,
): void => {
  const names = Object.keys(examples[0] ?? {});
  const batchFeeds: Record<string, TensorValue> = { ...shared };
  for (const name of names) batchFeeds[name] = stack(examples.map((e) => e[name]!));
  const leafNames = new Set(batched.nodes.flatMap((n) => (n.op === "input" || n.op === "param" ? [n.params.name] : [])));
  const all = evaluate(batched.outputs, Object.fromEntries(Object.entries(batchFeeds).filter(([k]) => leafNames.has(k))));
  const ownLeaves = new Set(perExample.nodes.flatMap((n) => (n.op === "input" || n.op === "param" ? [n.params.name] : [])));
  examples.forEach((example, b) => {
    const feeds = Object.fromEntries(Object.entries({ ...shared, ...example }).filter(([k]) => ownLeaves.has(k)));
    const one = evaluate(perExample.outputs, feeds);
    one.forEach((want, i) => expectClose(exampleOf(all[i]!, b), want, tol, `output ${perExample.outputNames[i]} of example ${b}`));
  });
};
