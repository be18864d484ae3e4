import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import { add, buildGraph, constant, evaluate, grad, input, log, mul, param, scalar, sub, sum, sym, tanh, tensorValue } from "../../src/index.js";
import { NonFiniteError, runChecked, traceNonFinite, valueRange, formatRange } from "../../src/inspect/nonFinite.js";

const here = "test/inspect/nonFinite.test.ts";

describe("valueRange", () => {
  it("counts NaN and infinities apart from the finite min and max", () => {
    const r = valueRange(tensorValue("f64", [5], [1, NaN, -Infinity, 3, Infinity]));
    expect(r).toEqual({ size: 5, min: 1, max: 3, nan: 1, posInf: 1, negInf: 1 });
    expect(formatRange(r)).toBe("min 1, max 3, 1 NaN, 1 +Inf, 1 -Inf");
    expect(formatRange(valueRange(tensorValue("f32", [1], [NaN])))).toBe("no finite values, 1 NaN");
  });
});

describe("runChecked: log of a negative number in the forward pass", () => {
  const x = input("x", [sym("batch"), 3], "f32");
  const shifted = sub(x, scalar(2)); // finite, some entries negative
  const logged = log(shifted); // NaN where x < 2
  const loss = sum(tanh(logged));
  const feeds = { x: tensorValue("f32", [2, 3], [3, 4, 5, 6, 1, 8]) };

  it("stops at the log, not at the nodes after it, and names its line", () => {
    const g = buildGraph({ loss }, "logOfNegative");
    const r = traceNonFinite(g, feeds);
    if (E.isRight(r)) throw new Error("expected a report");
    const rep = r.left;
    expect(rep.node.op).toBe("log");
    expect(rep.node.id).toBe(g.ids.get(logged.node));
    expect(rep.node.loc).toMatch(new RegExp(`^${here}:\\d+$`));
    expect(rep.node.loc).toBe(`${logged.node.loc!.file}:${logged.node.loc!.line}`);
    expect(rep.shape).toEqual([2, 3]);
    expect(rep.node.declared).toBe("f32[batch,3]");
    expect(rep.value.nan).toBe(1);
    expect(rep.firstIndex).toEqual([1, 1]);
    expect(rep.origins).toEqual([]);
    expect(rep.inputs).toHaveLength(1);
    expect(rep.inputs[0]!.range).toMatchObject({ min: -1, max: 6, nan: 0, posInf: 0, negInf: 0 });
  });

  it("throws a NonFiniteError whose message is the report", () => {
    let caught: unknown;
    try {
      runChecked([loss], feeds);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NonFiniteError);
    const message = (caught as Error).message;
    expect(message).toMatch(new RegExp(`^%\\d+ log produced NaN at ${here}:\\d+\\n`));
    expect(message).toContain("value: f32[2, 3] (declared f32[batch,3]): min 0, max 1.79176, 1 NaN; first at [1, 1]");
    expect(message).toMatch(/inputs:\n {4}%\d+ sub f32\[2, 3\] at test\/inspect\/nonFinite\.test\.ts:\d+: min -1, max 6$/);
  });

  it("returns the outputs when everything is finite", () => {
    const ok = { x: tensorValue("f32", [1, 3], [3, 4, 5]) };
    const [v] = runChecked([loss], ok);
    const [plain] = evaluate([loss.node], ok);
    expect(Array.from(v!.data)).toEqual(Array.from(plain!.data));
  });

  it("reports a feed holding NaN as the first non-finite node", () => {
    const r = traceNonFinite([loss], { x: tensorValue("f32", [1, 3], [3, NaN, 5]) });
    if (E.isRight(r)) throw new Error("expected a report");
    expect(r.left.node.text).toBe("%0 input 'x'");
    expect(new NonFiniteError(r.left).message).toMatch(/^the feed %0 input 'x' holds NaN \(declared at test\/inspect\/nonFinite\.test\.ts:\d+\)/);
  });

  it("leaves constants unchecked unless asked", () => {
    const masked = add(x, constant([0, -Infinity, 0], [3]));
    expect(() => runChecked([masked], { x: tensorValue("f32", [1, 3], [1, 2, 3]) })).toThrow(/%\d+ add produced -Inf/);
    expect(() => runChecked([masked], { x: tensorValue("f32", [1, 3], [1, 2, 3]) }, { checkConstants: true })).toThrow(/the constant %\d+ constant holds -Inf/);
  });
});

describe("runChecked: an overflow that only appears in the backward pass", () => {
  // loss = 1e20 * sum(log(w)) with w = 1e-20: the forward pass is about -4.6e21 (finite in
  // f32), but d loss / d w = 1e20 / w = 1e40, which overflows f32 (max 3.4e38).
  const w = param("w", [2], "f32");
  const logW = log(w);
  const loss = mul(scalar(1e20), sum(logW));
  const dw = grad(loss, w);
  const feeds = { w: tensorValue("f32", [2], [1e-20, 1]) };

  it("the forward pass is finite and the gradient is not", () => {
    const [forward] = runChecked([loss], feeds);
    expect(Number.isFinite(forward!.data[0])).toBe(true);
    const [g] = evaluate([dw.node], feeds);
    expect(g!.data[0]).toBe(Infinity);
  });

  it("names the gradient node, the forward log it came from, and the log's line", () => {
    const g = buildGraph({ loss, dw }, "backwardOverflow");
    const r = traceNonFinite(g, feeds);
    if (E.isRight(r)) throw new Error("expected a report");
    const rep = r.left;
    expect(rep.value.posInf).toBe(1);
    expect(rep.firstIndex).toEqual([0]);
    expect(rep.origins[0]).toMatchObject({ op: "log", id: g.ids.get(logW.node), loc: `${here}:${logW.node.loc!.line}` });
    // Its inputs are finite: the overflow happens in this node.
    for (const i of rep.inputs) expect(i.range.nan + i.range.posInf + i.range.negInf).toBe(0);
    const message = new NonFiniteError(rep, "step 1").message;
    expect(message).toMatch(/^step 1: %\d+ \w+ produced \+Inf in the backward pass\n/);
    expect(message).toContain("min 1e+20, max 1e+20");
    expect(message).toMatch(new RegExp(`\\n  gradient of: %${g.ids.get(logW.node)} log f32\\[2\\] at ${here}:${logW.node.loc!.line}\\n`));
  });
});
