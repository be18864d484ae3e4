import { describe, expect, it } from "vitest";
import { dense, mlp } from "../../src/nn/layers.js";
import { collectParams, fans, initParams } from "../../src/nn/init.js";
import { param, input, tanh, sym } from "../../src/index.js";
import { evaluateTensors } from "../../runtime/interpret.js";
import { tensorValue } from "../../runtime/value.js";

describe("initParams", () => {
  it("gives bit-identical values for the same seed and different ones for another seed", () => {
    const p = mlp.init("net", [4, 8, 3]);
    const [a] = initParams(p, 7);
    const [b] = initParams(p, 7);
    const [c] = initParams(p, 8);
    expect(Object.keys(a).sort()).toEqual(["net.0.W", "net.0.b", "net.1.W", "net.1.b"]);
    for (const k of Object.keys(a)) expect(Buffer.from(a[k]!.data.buffer).equals(Buffer.from(b[k]!.data.buffer))).toBe(true);
    expect(Array.from(a["net.0.W"]!.data)).not.toEqual(Array.from(c["net.0.W"]!.data));
    expect(Array.from(a["net.0.b"]!.data).every((v) => v === 0)).toBe(true);
  });

  it("follows the fan convention and the distributions' scales", () => {
    expect(fans([784, 256])).toEqual([784, 256]);
    expect(fans([16, 3, 3, 3])).toEqual([27, 144]);
    expect(fans([10])).toEqual([10, 10]);
    const W = param("W", [400, 300], "f64", { kind: "glorotUniform" });
    const H = param("H", [500, 200], "f64", { kind: "heNormal" });
    const [v] = initParams({ W, H }, 1);
    const limit = Math.sqrt(6 / 700);
    const w = Array.from(v.W!.data);
    expect(Math.max(...w)).toBeLessThanOrEqual(limit);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-limit);
    const h = Array.from(v.H!.data);
    const std = Math.sqrt(h.reduce((s, x) => s + x * x, 0) / h.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / 500), 2);
  });

  it("collects params from nested records and arrays once each", () => {
    const p = { a: dense.init("d", 2, 3), list: [param("q", [1])], again: dense.init("d", 2, 3) };
    expect(collectParams(p).map((n) => (n.op === "param" ? n.params.name : "")).sort()).toEqual(["d.W", "d.b", "q"]);
  });

  it("dense and mlp compute x·W + b with the activation between layers", () => {
    const x = input("x", [sym("batch"), 2], "f64");
    const p = dense.init("fc", 2, 2, { dtype: "f64" });
    const y = dense(p, tanh)(x);
    const [out] = evaluateTensors([y], {
      x: tensorValue("f64", [1, 2], [1, 2]),
      "fc.W": tensorValue("f64", [2, 2], [0.1, 0.2, 0.3, 0.4]),
      "fc.b": tensorValue("f64", [2], [0.5, -0.5]),
    });
    expect(out!.data[0]).toBeCloseTo(Math.tanh(0.1 + 0.6 + 0.5), 14);
    expect(out!.data[1]).toBeCloseTo(Math.tanh(0.2 + 0.8 - 0.5), 14);
    expect(mlp(mlp.init("m", [2, 3, 1], { dtype: "f64" }), tanh)(x).node.shape).toEqual(["batch", 1]);
  });
});
