import { describe, expect, it } from "vitest";
import { input } from "../../src/index.js";
import type { AnyTensor } from "../../src/tensor.js";
import {
  adam, adamw, clipByGlobalNorm, cosineSchedule, linearWarmup, momentum, nesterov, rmsprop, sgd, stepSchedule, type Optimizer,
} from "../../src/train/optimizers.js";
import { evaluateTensors } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";

const f64 = (values: number[]) => tensorValue("f64", [values.length], values);

/** Runs `steps` updates of one param through the graph rule, feeding state back in. */
const runRule = (opt: Optimizer, p0: number[], grads: number[][], lr: number): { p: number[]; state: Record<string, number[]> } => {
  const n = p0.length;
  const p = input("p", [n], "f64");
  const g = input("g", [n], "f64");
  const lrT = input("lr", [], "f64");
  const stepT = input("step", [], "f64");
  const state: Record<string, AnyTensor> = Object.fromEntries(opt.slots.map((s) => [s, input(`s_${s}`, [n], "f64")]));
  const out = opt.update({ param: p, grad: g, state, lr: lrT, step: stepT });
  let values = { p: p0, state: Object.fromEntries(opt.slots.map((s) => [s, new Array<number>(n).fill(0)])) as Record<string, number[]> };
  grads.forEach((gv, i) => {
    const feeds: Record<string, TensorValue> = { p: f64(values.p), g: f64(gv), lr: tensorValue("f64", [], [lr]), step: tensorValue("f64", [], [i + 1]) };
    for (const s of opt.slots) feeds[`s_${s}`] = f64(values.state[s]!);
    const res = evaluateTensors([out.param, ...opt.slots.map((s) => out.state[s]!)], feeds, { allowExtraFeeds: true });
    values = { p: Array.from(res[0]!.data), state: Object.fromEntries(opt.slots.map((s, k) => [s, Array.from(res[k + 1]!.data)])) };
  });
  return values;
};

const grads = [[1, -2], [0.5, 0.5], [-1, 3]];
const p0 = [0.3, -0.7];

/** Plain-JS references, written from the papers' update equations. */
const reference = (kind: string, lr: number): number[] => {
  const p = [...p0];
  const s1 = [0, 0];
  const s2 = [0, 0];
  grads.forEach((g, t0) => {
    const t = t0 + 1;
    for (let i = 0; i < 2; i++) {
      const gi = g[i]!;
      switch (kind) {
        case "sgd": p[i] = p[i]! - lr * gi; break;
        case "momentum": s1[i] = 0.9 * s1[i]! + gi; p[i] = p[i]! - lr * s1[i]!; break;
        case "nesterov": s1[i] = 0.9 * s1[i]! + gi; p[i] = p[i]! - lr * (gi + 0.9 * s1[i]!); break;
        case "rmsprop": s1[i] = 0.9 * s1[i]! + 0.1 * gi * gi; p[i] = p[i]! - (lr * gi) / (Math.sqrt(s1[i]!) + 1e-8); break;
        case "adam":
        case "adamw": {
          s1[i] = 0.9 * s1[i]! + 0.1 * gi;
          s2[i] = 0.999 * s2[i]! + 0.001 * gi * gi;
          const dir = s1[i]! / (1 - 0.9 ** t) / (Math.sqrt(s2[i]! / (1 - 0.999 ** t)) + 1e-8);
          p[i] = p[i]! - lr * (dir + (kind === "adamw" ? 0.01 * p[i]! : 0));
        }
      }
    }
  });
  return p;
};

describe("optimizers", () => {
  it.each([
    ["sgd", sgd()],
    ["momentum", momentum()],
    ["nesterov", nesterov()],
    ["rmsprop", rmsprop()],
    ["adam", adam()],
    ["adamw", adamw()],
  ] as const)("%s matches its update equations over three steps", (kind, opt) => {
    const got = runRule(opt, p0, grads, 0.05).p;
    const want = reference(kind, 0.05);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });

  it("clips by global norm, keeping direction", () => {
    const a = input("a", [2], "f64");
    const b = input("b", [1], "f64");
    const feeds = { a: f64([3, 0]), b: f64([4]) };
    const [ca, cb] = evaluateTensors(clipByGlobalNorm([a, b], 1), feeds);
    expect(Array.from(ca!.data)).toEqual([expect.closeTo(0.6, 12), 0]);
    expect(cb!.data[0]).toBeCloseTo(0.8, 12);
    const [ua] = evaluateTensors(clipByGlobalNorm([a, b], 10), feeds);
    expect(Array.from(ua!.data)).toEqual([3, 0]);
  });

  it("schedules give the documented rates", () => {
    expect([1, 2, 3, 4, 5].map(stepSchedule(1, 2, 0.5))).toEqual([1, 1, 0.5, 0.5, 0.25]);
    const cos = cosineSchedule(1, 10, 0.1);
    expect(cos(1)).toBeCloseTo(1, 12);
    expect(cos(10)).toBeCloseTo(0.1, 12);
    expect(cos(6)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.5)), 12);
    const warm = linearWarmup(4, () => 2);
    expect([1, 2, 4, 5].map(warm)).toEqual([0.5, 1, 2, 2]);
  });
});
