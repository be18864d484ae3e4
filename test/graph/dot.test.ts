import { describe, expect, it } from "vitest";
import { add, buildGraph, constant, input, matmul, mul, param, sum, tanh, type AnyTensor } from "../../src/index.js";
import { makeNode } from "../../src/graph/node.js";
import { escapeDot, graphToDot } from "../../src/graph/dot.js";

function dense(x: AnyTensor, name: string, n: number, m: number): AnyTensor {
  const W = param(`${name}_W`, [n, m], "f32");
  const b = param(`${name}_b`, [m], "f32");
  return tanh(add(matmul(x, W), b));
}

function model(x: AnyTensor): AnyTensor {
  const h = dense(x, "l1", 2, 3);
  return sum(dense(h, "l2", 3, 1));
}

const mlpGraph = () => buildGraph({ loss: model(input("x", [4, 2], "f32")) }, "mlp");

/** Checks DOT quoting: every double-quoted string ends on its line, escapes are pairs. */
const quotedStringsAreClosed = (dot: string): boolean =>
  dot.split("\n").every((line) => {
    let inString = false;
    for (let i = 0; i < line.length; i++) {
      if (inString && line[i] === "\\") i++;
      else if (line[i] === '"') inString = !inString;
    }
    return !inString;
  });

describe("graph DOT form", () => {
  it("draws a small model with one cluster per layer call", () => {
    expect(graphToDot(mlpGraph(), { locations: false })).toMatchInlineSnapshot(`
      "digraph "mlp" {
        graph [rankdir=TB, fontname="Helvetica", fontsize=10];
        node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];
        edge [color="#4b5563", arrowsize=0.7];
        subgraph cluster_0 {
          label="dense #1";
          style="rounded,dashed"; color="#6b7280"; fontcolor="#374151";
          n1 [label="l1_W\\nparam f32[2,3]", shape=ellipse, fillcolor="#dcfce7"];
          n2 [label="l1_b\\nparam f32[3]", shape=ellipse, fillcolor="#dcfce7"];
          n5 [label="%5 matmul\\nf32[4,3]"];
          n6 [label="%6 add\\nf32[4,3]"];
          n7 [label="%7 tanh\\nf32[4,3]"];
        }
        subgraph cluster_1 {
          label="dense #2";
          style="rounded,dashed"; color="#6b7280"; fontcolor="#374151";
          n3 [label="l2_W\\nparam f32[3,1]", shape=ellipse, fillcolor="#dcfce7"];
          n4 [label="l2_b\\nparam f32[1]", shape=ellipse, fillcolor="#dcfce7"];
          n8 [label="%8 matmul\\nf32[4,1]"];
          n9 [label="%9 add\\nf32[4,1]"];
          n10 [label="%10 tanh\\nf32[4,1]"];
        }
        n0 [label="x\\ninput f32[4,2]", shape=ellipse, fillcolor="#dbeafe"];
        n11 [label="%11 sum[axes=[0,1]]\\nf32[]", peripheries=2];
        n0 -> n5;
        n1 -> n5;
        n5 -> n6;
        n2 -> n6;
        n6 -> n7;
        n7 -> n8;
        n3 -> n8;
        n8 -> n9;
        n4 -> n9;
        n9 -> n10;
        n10 -> n11;
        out0 [label="loss", shape=plaintext, style=""];
        n11 -> out0;
      }"
    `);
  });

  it("shows source lines, and is deterministic", () => {
    const dot = graphToDot(mlpGraph());
    expect(dot).toMatch(/n5 \[label="%5 matmul\\nf32\[4,3\]\\ntest\/graph\/dot\.test\.ts:9"\]/);
    expect(dot).toMatch(/n11 \[label="%11 sum\[axes=\[0,1\]\]\\nf32\[\]\\ntest\/graph\/dot\.test\.ts:14"/);
    expect(graphToDot(mlpGraph())).toBe(dot);
  });

  it("takes the model function from options, or draws no clusters", () => {
    const g = mlpGraph();
    expect(graphToDot(g, { modelFunction: "model" })).toBe(graphToDot(g));
    // With dense as the model function nothing is below it: no clusters.
    expect(graphToDot(g, { modelFunction: "dense" })).not.toContain("subgraph");
    expect(graphToDot(g, { clusters: false })).not.toContain("subgraph");
    expect(graphToDot(g, { rankdir: "LR" })).toContain("graph [rankdir=LR,");
  });

  it("clusters only the outermost layer below the model function", () => {
    function block(x: AnyTensor): AnyTensor {
      return add(dense(x, "a", 2, 2), x);
    }
    function net(x: AnyTensor): AnyTensor {
      return sum(mul(block(x), constant(2, [], "f32")));
    }
    const dot = graphToDot(buildGraph(net(input("x", [1, 2], "f32")), "net"), { locations: false });
    expect(dot.match(/subgraph cluster_/g)?.length).toBe(1);
    expect(dot).toContain(`label="block";`);
    const cluster = dot.slice(dot.indexOf("subgraph cluster_0"), dot.indexOf("  }"));
    // dense's params and ops and block's own add, but not the input made outside.
    expect(cluster.match(/\n {4}n\d+ \[/g)?.length).toBe(6);
    expect(cluster).toContain("a_W");
    expect(cluster).not.toContain("input");
    // The constant is made in net itself, so it is outside the cluster.
    expect(dot).toMatch(/\n {2}n\d+ \[label="%\d+ constant 2\\nf32\[\]"/);
  });

  it("escapes odd names in labels and the graph name", () => {
    const odd = 'say "hi"\\n\nnext\tline \\l';
    const g = buildGraph({ [odd]: tanh(input(odd, [2], "f32")) }, 'g"raph\\');
    const dot = graphToDot(g, { locations: false });
    expect(escapeDot(odd)).toBe('say \\"hi\\"\\\\n\\nnextline \\\\l');
    expect(dot).toContain('digraph "g\\"raph\\\\" {');
    expect(dot).toContain(`n0 [label="${escapeDot(odd)}\\ninput f32[2]"`);
    expect(dot).toContain(`out0 [label="${escapeDot(odd)}", shape=plaintext`);
    expect(quotedStringsAreClosed(dot)).toBe(true);
    expect(dot.split("\n").every((l) => !l.includes("\t"))).toBe(true);
  });

  it("styles gradient nodes and links them to their forward origin", () => {
    const x = input("x", [2], "f32").node;
    const fwd = tanh({ node: x }).node;
    const gradNode = makeNode({ op: "neg", params: {}, inputs: [fwd], shape: [2], dtype: "f32", origin: fwd, loc: fwd.loc });
    const dot = graphToDot(buildGraph({ dx: { node: gradNode } }, "grad"), { locations: false });
    expect(dot).toContain(`n2 [label="%2 neg\\nf32[2]\\ngrad of %1", fillcolor="#fee2e2", color="#b91c1c", peripheries=2];`);
    expect(dot).toContain(`n2 -> n1 [style=dashed, color="#b91c1c", constraint=false, arrowhead=onormal, tooltip="gradient of"];`);
    expect(dot).toContain(`n1 [label="%1 tanh\\nf32[2]"];`);
  });

  it("names an origin outside the graph in the label, without an edge", () => {
    const x = input("x", [2], "f32").node;
    const fwd = tanh({ node: x }).node;
    const gradNode = makeNode({ op: "neg", params: {}, inputs: [x], shape: [2], dtype: "f32", origin: fwd, loc: fwd.loc });
    const dot = graphToDot(buildGraph({ dx: { node: gradNode } }, "grad"), { locations: false });
    expect(dot).toContain(`n1 [label="%1 neg\\nf32[2]\\ngrad of tanh f32[2]", fillcolor="#fee2e2"`);
    expect(dot).not.toContain("style=dashed");
  });

  it("puts gradient nodes in their origin's layer cluster", () => {
    const g0 = mlpGraph();
    const tanh1 = g0.nodes[7]!;
    const gradNode = makeNode({ op: "neg", params: {}, inputs: [tanh1], shape: tanh1.shape, dtype: "f32", origin: tanh1, loc: tanh1.loc });
    const g = buildGraph({ loss: { node: g0.outputs[0]! }, d: { node: gradNode } }, "mlp");
    const dot = graphToDot(g, { locations: false });
    const cluster0 = dot.slice(dot.indexOf("subgraph cluster_0"), dot.indexOf("subgraph cluster_1"));
    expect(cluster0).toContain("grad of %7");
  });
});
