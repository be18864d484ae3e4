import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { buildGraph, grad, input, param, sum, sym, tanh, matmul } from "../../src/index.js";
import { dotToSvg, graphToSvg, RenderError, svgElement } from "../../src/inspect/svg.js";
import { docsPicture } from "../../src/inspect/docsPicture.js";
import { loadModelModule } from "../../src/cli/modelModule.js";

describe("SVG pictures (Graphviz in WebAssembly)", () => {
  it("draws every node with its op, shape and source line, and the layers as clusters", async () => {
    const m = await loadModelModule("examples/models/mnist-mlp.ts");
    const svg = await graphToSvg(m.forward, { modelFunction: "model" });
    expect(svg).toMatch(/^<\?xml version="1\.0" encoding="UTF-8" standalone="no"\?>/);
    expect(svg.trimEnd()).toMatch(/<\/svg>$/);
    expect(svg.match(/<g id="node\d+" class="node">/g)).toHaveLength(m.forward.nodes.length + m.forward.outputs.length);
    expect(svg.match(/<g id="clust\d+" class="cluster">/g)).toHaveLength(3);
    for (const text of ["%8 matmul", "f32[batch,256]", "hidden #1", "hidden #2", "output", "hidden1.W", "param f32[784,256]"]) expect(svg).toContain(`>${text}</text>`);
    expect(svg).toMatch(/>examples\/models\/mnist(-|&#45;)mlp\.ts:\d+<\/text>/); // Graphviz writes "-" as &#45;
  });

  it("draws gradient nodes in red with dashed links to their forward origins", async () => {
    const x = input("x", [sym("batch"), 3], "f32");
    const W = param("W", [3, 2], "f32");
    const loss = sum(tanh(matmul(x, W)));
    const svg = await graphToSvg(buildGraph({ loss, dW: grad(loss, W) }, "tiny"));
    expect(svg).toContain('fill="#fee2e2"');
    expect(svg).toMatch(/>grad of %\d+<\/text>/);
    expect(svg).toContain('stroke-dasharray="5,2"');
  });

  it("escapes names, so any leaf name is safe", async () => {
    const x = input('<script>alert("x")</script>', [2], "f32");
    const svg = await graphToSvg(buildGraph({ y: tanh(x) }, "names"));
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("reports DOT that Graphviz refuses as a RenderError", async () => {
    await expect(dotToSvg("digraph { a -> ")).rejects.toBeInstanceOf(RenderError);
    await expect(dotToSvg("digraph { a -> ")).rejects.toThrow(/^Graphviz could not lay out the DOT text: /);
  });

  it("svgElement keeps only the <svg> element", async () => {
    const el = svgElement(await dotToSvg("digraph { a -> b }"));
    expect(el).toMatch(/^<svg [^]*<\/svg>$/);
    expect(el).not.toContain("<!--");
    expect(() => svgElement("<html></html>")).toThrow(RenderError);
  });

  it("docs/images/mnist-mlp.svg is what `npm run docs:images` generates from the example", async () => {
    expect(readFileSync("docs/images/mnist-mlp.svg", "utf8")).toBe(await docsPicture());
  });
});
