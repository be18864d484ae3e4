import { describe, expect, it } from "vitest";
import { buildGraph, grad, input, param, sum, sym, tanh, matmul, add, type Shape, type Tensor } from "../../src/index.js";
import { graphToHtml, graphViewData } from "../../src/inspect/html.js";

type F32 = Tensor<Shape, "f32">;
const W1 = param("W1", [3, 4], "f32");
const W2 = param("W2", [4, 2], "f32");
function layer(W: F32, x: F32): F32 {
  return tanh(matmul(x, W));
}
function net(x: F32): F32 {
  return layer(W2, layer(W1, x));
}

describe("HTML viewer data", () => {
  const x = input("x", [sym("batch"), 3], "f32");
  const y = net(x);
  const loss = sum(y);
  const g = buildGraph({ loss, dW1: grad(loss, W1) }, "net");

  it("groups nodes by layer, links inputs, consumers and gradient origins", () => {
    const data = graphViewData(g, { modelFunction: "net" });
    expect(data.layers.map((l) => l.label)).toEqual(["layer #1", "layer #2"]);
    const matmul1 = data.nodes.find((n) => n.op === "matmul" && n.origin === null)!;
    expect(matmul1.layer).toBe(0);
    expect(matmul1.shape).toBe("[batch, 4]");
    expect(matmul1.loc).toMatch(/^test\/inspect\/html\.test\.ts:\d+$/);
    expect(matmul1.functions.slice(0, 2)).toEqual(["layer", "net"]);
    expect(matmul1.params).toEqual([["transposeA", "false"], ["transposeB", "false"]]);
    for (const n of data.nodes) for (const i of n.inputs) expect(data.nodes[i]!.consumers).toContain(n.id);
    const gradient = data.nodes.find((n) => n.origin !== null && n.origin.id !== null)!;
    expect(data.nodes[gradient.origin!.id!]!.origin).toBeNull();
    expect(data.nodes.find((n) => n.outputs.includes("dW1"))).toBeDefined();
  });

  it("writes one self-contained page that cannot load anything and escapes every name", async () => {
    const evil = input("</script><script>alert(1)</script>", [2], "f32");
    const html = await graphToHtml(buildGraph({ out: add(tanh(evil), evil) }, "<b>evil</b>"));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("<title>&lt;b&gt;evil&lt;/b&gt; · typegrad graph</title>");
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toContain("<svg");
    const withoutPicture = await graphToHtml(g, { picture: false });
    expect(withoutPicture).not.toContain("<svg");
    expect(withoutPicture).toContain("The picture is left out");
  });
});
