import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { graphFromJson } from "../../src/index.js";
import { cli, tempDir } from "./support.js";

const MLP = "examples/models/mlp.ts";
const MNIST = "examples/models/mnist-mlp.ts";

describe("typegrad (usage)", () => {
  it("prints the usage with exit code 2 when no command is given, 0 for --help", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: typegrad <command>");
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["dump", "summary", "check", "train", "export"]) expect(help.stdout).toContain(`  ${c} `);
  });

  it.each(["dump", "summary", "check", "train", "export"])("%s --help prints its usage", async (c) => {
    const r = await cli([c, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: typegrad ${c} `));
    expect((await cli(["help", c])).stdout).toBe(r.stdout);
  });

  it("refuses unknown commands, unknown options and missing arguments with exit code 2", async () => {
    const unknown = await cli(["dumpp", MLP]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^typegrad: unknown command 'dumpp'/);
    const option = await cli(["dump", MLP, "--fromat", "svg"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^typegrad dump: Unknown option '--fromat'/);
    expect(option.stderr).toContain("Usage: typegrad dump <model module>");
    const missing = await cli(["summary"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^typegrad summary: missing an argument/);
    const format = await cli(["dump", MLP, "--format", "png"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("--format must be one of text, dot, svg, json, html, got 'png'");
  });
});

describe("typegrad dump", () => {
  it("prints the forward graph (outputs and loss) as text", async () => {
    const r = await cli(["dump", MLP]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "graph mlp(x: f32[batch,2], hidden.W: f32[2,4], hidden.b: f32[4], out.W: f32[4,1], out.b: f32[1], y: f32[batch,1]) {
        %6: f32[batch,4] = matmul x hidden.W  # examples/models/mlp.ts:26
        %7: f32[batch,4] = add %6 hidden.b    # examples/models/mlp.ts:26
        %8: f32[batch,4] = tanh %7            # examples/models/mlp.ts:30
        %9: f32[batch,1] = matmul %8 out.W    # examples/models/mlp.ts:26
        %10: f32[batch,1] = add %9 out.b      # examples/models/mlp.ts:26
        %11: f32[batch,1] = sub %10 y         # examples/models/mlp.ts:34
        %12: f32[batch,1] = square %11        # examples/models/mlp.ts:34
        %13: f32[] = mean[axes=[0,1]] %12     # examples/models/mlp.ts:34
        return out=%10, loss=%13
      }
      "
    `);
  });

  it("writes the gradient graph as JSON that reads back, with grad:<param> outputs", async () => {
    const dir = tempDir();
    const file = join(dir, "grad.json");
    const r = await cli(["dump", MLP, "--grad", "--format", "json", "-o", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*grad\.json \([\d,]+ characters\)\n$/);
    const g = graphFromJson(readFileSync(file, "utf8"));
    if (E.isLeft(g)) throw new Error(g.left.message);
    expect(g.right.outputNames).toEqual(["loss", "grad:hidden.W", "grad:hidden.b", "grad:out.W", "grad:out.b"]);
    expect(g.right.nodes.some((n) => n.origin !== undefined)).toBe(true);
  });

  it("--optimized dumps the graph after the optimizer (fewer nodes)", async () => {
    const plain = await cli(["dump", MLP, "--grad", "--no-locations"]);
    const optimized = await cli(["dump", MLP, "--grad", "--optimized", "--no-locations"]);
    const count = (text: string): number => text.split("\n").filter((l) => /^ {2}%\d+:/.test(l)).length;
    expect(count(optimized.stdout)).toBeLessThan(count(plain.stdout));
    expect(optimized.stdout).not.toContain("examples/models/mlp.ts");
  });

  it("draws layers as DOT clusters named after the layer functions", async () => {
    const r = await cli(["dump", MNIST, "--format", "dot"]);
    expect(r.code).toBe(0);
    for (const layer of ["hidden #1", "hidden #2", "output"]) expect(r.stdout).toContain(`label="${layer}";`);
  });

  it("writes SVG and HTML files", async () => {
    const dir = tempDir();
    const svg = await cli(["dump", MNIST, "--format", "svg", "-o", join(dir, "m.svg")]);
    expect(svg.code).toBe(0);
    const text = readFileSync(join(dir, "m.svg"), "utf8");
    expect(text).toMatch(/^<\?xml/);
    expect(text).toContain("hidden #1");
    expect(text).toContain("%8 matmul");
    const html = await cli(["dump", MNIST, "--grad", "--format", "html", "-o", join(dir, "m.html")]);
    expect(html.code).toBe(0);
    expect(readFileSync(join(dir, "m.html"), "utf8")).toContain('<script id="graph-data" type="application/json">');
  });

  it("reports bad modules with exit code 1 and a message naming the file and the field", async () => {
    const sig = await cli(["dump", "test/cli/fixtures/bad-signature.ts"]);
    expect(sig.code).toBe(1);
    expect(sig.stderr).toBe(
      "typegrad dump: test/cli/fixtures/bad-signature.ts: module.inputs.x.shape[1]: expected a size (a non-negative integer) or a symbolic dim name, got -3\n",
    );
    const shape = await cli(["dump", "test/cli/fixtures/shape-mistake.ts"]);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toBe("typegrad dump: matmul: inner dims differ: 3 (lhs [batch, 3]) vs 4 (rhs [4, 2]) (at test/cli/fixtures/shape-mistake.ts:7)\n");
    const none = await cli(["dump", "test/cli/fixtures/no-model.ts"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("module: exports neither `model`");
    const missing = await cli(["dump", "test/cli/fixtures/nope.ts"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("typegrad dump: cannot find the module file test/cli/fixtures/nope.ts\n");
    const noLoss = await cli(["dump", "test/cli/fixtures/graph-export.ts", "--grad"]);
    expect(noLoss.code).toBe(1);
    expect(noLoss.stderr).toContain("--grad: the model has no params to differentiate");
  });

  it("accepts a module that exports a built graph", async () => {
    const r = await cli(["dump", "test/cli/fixtures/graph-export.ts", "--no-locations"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("graph tanhSum(x: f64[batch,3]) {");
  });
});

describe("typegrad summary", () => {
  it("counts the MNIST MLP's params and FLOPs per example as worked out by hand", async () => {
    const r = await cli(["summary", MNIST, "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as {
      params: number; flops: number; groups: { kind: string; label: string; params: number; flops: number; type: string }[]; memory: { kind: string; peakBytes?: number };
    };
    // Weights and biases: 784·256 + 256, 256·256 + 256, 256·10 + 10.
    expect(s.groups.filter((g) => g.kind === "layer").map((g) => [g.label, g.type, g.params, g.flops])).toEqual([
      ["hidden #1", "f32[batch,256]", 784 * 256 + 256, 2 * 784 * 256 + 256 + 256], // matmul 2·M·K·N, bias add, relu
      ["hidden #2", "f32[batch,256]", 256 * 256 + 256, 2 * 256 * 256 + 256 + 256],
      ["output", "f32[batch,10]", 256 * 10 + 10, 2 * 256 * 10 + 10],
    ]);
    expect(s.params).toBe(269_322);
    // The loss: oneHot 0, logSoftmax 5·10, mul 10, sum 10, mean 1, neg 1.
    const lossFlops = 0 + 50 + 10 + 10 + 1 + 1;
    expect(s.flops).toBe(401_920 + 131_584 + 5_130 + lossFlops);
    expect(s.memory.kind).toBe("planned");
    expect(s.memory.peakBytes).toBeGreaterThan(0);
  });

  it("prints layers above their ops, totals, and peak memory for the bound dims", async () => {
    const r = await cli(["summary", MNIST, "--dim", "batch=64"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const at = lines.findIndex((l) => l.startsWith("hidden #1"));
    expect(lines[at]).toMatch(/^hidden #1\s+f32\[batch,256\]\s+200,960\s+25,722,880$/);
    expect(lines[at + 1]).toMatch(/^ {2}%8 matmul\s+f32\[batch,256\]\s+25,690,112$/);
    expect(r.stdout).toMatch(/^total\s+269,322\s+[\d,]+$/m);
    expect(r.stdout).toMatch(/^peak memory with batch=64: [\d.]+ KiB of intermediates in the compiled program's arena/m);
    const compact = await cli(["summary", MNIST, "--layers-only"]);
    expect(compact.stdout).not.toContain("%8 matmul");
    expect(compact.stdout).toContain("FLOPs with batch=1: 538,706 per example");
  });

  it("refuses dims the graph does not have", async () => {
    const r = await cli(["summary", MNIST, "--dim", "time=3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("typegrad summary: dims.time: graph 'mnistMlp' has no symbolic dim 'time' (its dims: batch)\n");
    const bad = await cli(["summary", MNIST, "--dim", "batch"]);
    expect(bad.code).toBe(2);
  });
});

describe("typegrad check", () => {
  const written = async (): Promise<string> => {
    const file = join(tempDir(), "mnist.json");
    expect((await cli(["dump", MNIST, "--format", "json", "-o", file])).code).toBe(0);
    return file;
  };

  it("accepts a valid graph and runs the shape checks with the bound dims", async () => {
    const file = await written();
    const r = await cli(["check", file, "--dim", "batch=32"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: ok, graph 'mnistMlp' with 22 nodes`);
    expect(r.stdout).toContain("shapes check out with batch=32");
  });

  it("names the JSON path of a bad field, and the node and line of a shape mistake", async () => {
    const file = await written();
    const text = readFileSync(file, "utf8");
    const badOp = join(tempDir(), "bad-op.json");
    writeFileSync(badOp, text.replace('"op":"relu"', '"op":"relux"'));
    const r = await cli(["check", badOp]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`typegrad check: ${badOp}: nodes[10].op: "relux" is not a known op\n`);
    const badShape = join(tempDir(), "bad-shape.json");
    writeFileSync(badShape, text.replaceAll('"shape":[784,256]', '"shape":[780,256]'));
    const s = await cli(["check", badShape]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^typegrad check: .*bad-shape\.json: nodes\[8\]: matmul: inner dims differ: 784 \(lhs \[batch, 784\]\) vs 780 \(rhs \[780, 256\]\) \(.*at examples\/models\/mnist-mlp\.ts:\d+\)\n$/);
    const none = await cli(["check", join(tempDir(), "missing.json")]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/cannot read .*missing\.json: no such file/);
  });
});
