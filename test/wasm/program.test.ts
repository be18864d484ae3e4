/**
 * Compiled programs on the wasm backend against the reference interpreter and the JS
 * backend: every op-spec row in f32 (within float32 tolerance, counting the rows whose
 * steps really ran as wasm), an MLP training step fed back over several steps, identical
 * results with one and two threads, feeds never written and outputs outside the wasm
 * heap, backend selection and option errors, and the fallbacks: a private single-threaded
 * heap (engines without SharedArrayBuffer), and no WebAssembly at all (node --jitless, in
 * a child process).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op, type DType } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { ValidationError } from "../../src/errors.js";
import { inferShape } from "../../compiler/rules/shape.js";
import { compile } from "../../runtime/program.js";
import { buildPlan } from "../../runtime/programPlan.js";
import { scheduleGraph } from "../../runtime/programSchedule.js";
import { fuseElementwise } from "../../compiler/passes/fuseElementwise.js";
import { orThrow } from "../../compiler/errors.js";
import { wasmProgramBackend } from "../../runtime/wasm/backend.js";
import { evaluate } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { opSpecTable, type Domain } from "../support/opspec.js";
import { f32Mismatches, randomF32, seeded } from "./support.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const sample = (domain: Domain, n: number, dtype: DType, rand: () => number): number[] =>
  Array.from({ length: n }, (_, i) => {
    switch (domain.kind) {
      case "index":
        return Math.floor(rand() * domain.size);
      case "bool":
        return rand() < 0.5 ? 0 : 1;
      case "real":
        return domain.lo + rand() * (domain.hi - domain.lo);
      case "awayFromZero":
        return (rand() < 0.5 ? -1 : 1) * (domain.lo + rand() * (domain.hi - domain.lo));
      case "distinct":
        return -domain.hi + ((i + 0.5) * 2 * domain.hi) / n;
    }
  });

/** The row's graph with every f64 leaf and dtype param as f32 (undefined when a rule rejects it). */
const asF32 = (rootNode: Node): Node | undefined => {
  const memo = new Map<Node, Node | undefined>();
  const visit = (n: Node): Node | undefined => {
    if (memo.has(n)) return memo.get(n);
    const inputs = n.inputs.map(visit);
    let out: Node | undefined;
    if (inputs.every((i): i is Node => i !== undefined)) {
      const p = n.params as { readonly dtype?: DType };
      const params = p.dtype === "f64" ? { ...n.params, dtype: "f32" } : n.params;
      const rule = inferShape(n.op, inputs, params as never);
      out = E.isRight(rule) ? makeNode({ op: n.op, params: params as never, inputs, shape: rule.right.shape, dtype: rule.right.dtype, loc: n.loc }) : undefined;
    }
    memo.set(n, out);
    return out;
  };
  return visit(rootNode);
};

describe.skipIf(!wasmFeatures().simd)("programs on the wasm backend", () => {
  it("compute every op-spec row in f32 as the interpreter does, within float32 tolerance", () => {
    const rand = seeded(5);
    let checked = 0;
    let onWasm = 0;
    for (const row of opSpecTable) {
      const f32Root = asF32(row.build(row.inputs.map((s, i) => tg.input(`in${i}`, s.shape, s.dtype))).node);
      if (f32Root === undefined) continue;
      const g = tg.buildGraph({ out: { node: f32Root } as tg.AnyTensor });
      const feeds: Record<string, TensorValue> = {};
      for (const leaf of tg.graphInputs(g).concat(tg.graphParams(g))) {
        if (leaf.op !== Op.Input && leaf.op !== Op.Param) continue;
        const shape = leaf.shape as readonly number[];
        const m = /^in(\d+)$/.exec(leaf.params.name);
        const domain: Domain = m === null ? { kind: "real", lo: -2, hi: 2 } : row.inputs[Number(m[1])]!.domain;
        feeds[leaf.params.name] = tensorValue(leaf.dtype, shape, sample(domain, shape.reduce((a, b) => a * b, 1), leaf.dtype, rand));
      }
      const [want] = evaluate(g.outputs, feeds);
      const program = compile(g, { optimize: false });
      expect(program.backend).toBe("wasm");
      const [got] = program.run(feeds);
      expect(got!.shape, row.name).toEqual(want!.shape);
      expect(got!.dtype, row.name).toBe(want!.dtype);
      expect(f32Mismatches(got!.data, want!.data, 2e-6, 2e-6), row.name).toEqual([]);
      if (program.plan(feeds).steps.some((s) => s.backend === "wasm")) onWasm++;
      checked++;
    }
    expect(checked).toBeGreaterThan(opSpecTable.length * 0.6);
    // matmul rows, and the elementwise rows of every op with a vector form
    expect(onWasm).toBeGreaterThan(30);
  });

  /** The MLP 32-64-64-10 training step (tanh, softmax cross-entropy, SGD) as a graph with `next.<param>` outputs. */
  const mlpStep = (): { graph: tg.Graph; params: Record<string, TensorValue>; data: Record<string, TensorValue> } => {
    const x = tg.input("x", [tg.sym("batch"), 32], "f32");
    const labels = tg.input("labels", [tg.sym("batch")], "i32");
    const p = tg.mlp.init("mlp", [32, 64, 64, 10]);
    const loss = tg.softmaxCrossEntropy(tg.mlp(p, tg.tanh)(x) as tg.Tensor<readonly [tg.Sym<"batch">, 10], "f32">, labels);
    const leaves = tg.collectParams(p).map((node) => ({ node }) as tg.AnyTensor);
    const grads = tg.grad(loss, leaves) as tg.AnyTensor[];
    const outputs: Record<string, tg.AnyTensor> = { loss };
    leaves.forEach((l, i) => (outputs[`next.${(l.node.params as { name: string }).name}`] = tg.sub(l, tg.mul(tg.scalar(0.1, "f32"), grads[i]!))));
    const graph = tg.buildGraph(outputs, "mlpStep");
    const params = tg.initParams(graph, 3)[0];
    const data = { x: tensorValue("f32", [48, 32], randomF32(48 * 32, 9)), labels: tensorValue("i32", [48], Array.from({ length: 48 }, (_, i) => i % 10)) };
    return { graph, params, data };
  };

  it("trains an MLP step for several steps as the JS backend does, with its matmuls and fused groups on wasm", () => {
    const { graph, params, data } = mlpStep();
    const runSteps = (backend: "wasm" | "js"): Record<string, TensorValue>[] => {
      const program = compile(graph, { backend });
      let state = { ...params };
      const outs: Record<string, TensorValue>[] = [];
      for (let step = 0; step < 4; step++) {
        const out = program.runNamed({ ...state, ...data });
        outs.push(out);
        state = Object.fromEntries(Object.keys(params).map((k) => [k, out[`next.${k}`]!]));
      }
      if (backend === "wasm") {
        const steps = program.plan({ ...state, ...data }).steps;
        expect(steps.filter((s) => s.op === "matmul").every((s) => s.backend === "wasm")).toBe(true);
        expect(steps.some((s) => s.kind === "fused" && s.backend === "wasm")).toBe(true);
      }
      return outs;
    };
    const [fast, reference] = [runSteps("wasm"), runSteps("js")];
    fast.forEach((out, step) => {
      for (const [name, value] of Object.entries(reference[step]!)) expect(f32Mismatches(out[name]!.data, value.data, 1e-4, 1e-5), `step ${step} ${name}`).toEqual([]);
    });
  });

  it("runs mask groups on wasm (bool feeds, constants, computed masks and bool outputs) exactly as the JS backend does", () => {
    const [rows, cols] = [96, 200];
    const x = tg.input("x", [rows, cols], "f32");
    const keep = tg.input("keep", [rows, cols], "bool");
    const causal = tg.constant(Array.from({ length: cols }, (_, j) => (j % 3 !== 0 ? 1 : 0)), [1, cols], "bool");
    const computed = tg.greaterEqual(x, tg.scalar(0.25, "f32"));
    const graph = tg.buildGraph({
      dropped: tg.mul(tg.where(keep, x, tg.scalar(0, "f32")), tg.scalar(1.25, "f32")),
      masked: tg.where(causal, tg.add(x, tg.scalar(1, "f32")), tg.scalar(-1e9, "f32")),
      fromComputed: tg.where(computed, tg.square(x), tg.neg(x)),
      mask: tg.greater(x, tg.scalar(0, "f32")),
    });
    const feeds = {
      x: tensorValue("f32", [rows, cols], randomF32(rows * cols, 21)),
      keep: tensorValue("bool", [rows, cols], Array.from(randomF32(rows * cols, 22), (v) => (v > -0.6 ? 1 : 0))),
    };
    const fast = compile(graph);
    const got = fast.runNamed(feeds);
    const want = compile(graph, { backend: "js" }).runNamed(feeds);
    const fused = fast.plan(feeds).steps.filter((s) => s.kind === "fused");
    expect(fused.length).toBeGreaterThanOrEqual(4);
    expect(fused.every((s) => s.backend === "wasm")).toBe(true);
    expect(got.mask!.dtype).toBe("bool");
    for (const name of Object.keys(want)) expect([...got[name]!.data], name).toEqual([...want[name]!.data]);
  });

  it("gives bit-identical results with one and two threads", () => {
    const n = 200;
    const a = tg.input("a", [n, 300], "f32");
    const b = tg.input("b", [300, n], "f32");
    const graph = tg.buildGraph({ c: tg.tanh(tg.matmul(a, b)), d: tg.matmul(a, b, { transposeA: false, transposeB: false }) });
    const feeds = { a: tensorValue("f32", [n, 300], randomF32(n * 300, 1)), b: tensorValue("f32", [300, n], randomF32(300 * n, 2)) };
    const one = compile(graph, { threads: 1 }).run(feeds);
    const two = compile(graph, { threads: 2 });
    for (let rep = 0; rep < 3; rep++) two.run(feeds).forEach((v, i) => expect(Buffer.from(v.data.buffer).equals(Buffer.from(one[i]!.data.buffer))).toBe(true));
  });

  it("never writes feeds, and returns outputs outside the wasm heap", () => {
    const x = tg.input("x", [5, 7], "f32");
    const w = tg.input("w", [7, 3], "f32");
    const graph = tg.buildGraph({ y: tg.sigmoid(tg.matmul(x, w)), w2: tg.mul(w, tg.scalar(2, "f32")) });
    const feeds = { x: tensorValue("f32", [5, 7], randomF32(35, 4)), w: tensorValue("f32", [7, 3], randomF32(21, 5)) };
    const copies = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data.slice()]));
    const program = compile(graph);
    const first = program.runNamed(feeds);
    const second = program.runNamed(feeds);
    for (const [k, v] of Object.entries(feeds)) expect([...v.data]).toEqual([...copies[k]!]);
    for (const out of [first, second]) for (const v of Object.values(out)) expect(v.data.buffer instanceof SharedArrayBuffer).toBe(false);
    expect(first.y!.data).not.toBe(second.y!.data);
    expect([...first.w2!.data]).toEqual([...feeds.w.data].map((v) => Math.fround(2 * v)));
  });

  it("selects the JS backend on request and rejects bad options with the option's path", () => {
    const graph = tg.buildGraph({ y: tg.tanh(tg.matmul(tg.input("x", [4, 4], "f32"), tg.input("w", [4, 4], "f32"))) });
    const js = compile(graph, { backend: "js" });
    expect(js.backend).toBe("js");
    const feeds = { x: tensorValue("f32", [4, 4], randomF32(16, 1)), w: tensorValue("f32", [4, 4], randomF32(16, 2)) };
    expect(js.plan(feeds).steps.every((s) => s.backend === "js")).toBe(true);
    expect(compile(graph).backend).toBe("wasm");
    expect(() => compile(graph, { backend: "gpu" as "js" })).toThrow(ValidationError);
    expect(() => compile(graph, { backend: "gpu" as "js" })).toThrow(/options\.backend: backend must be "wasm" or "js", got "gpu"/);
    expect(() => compile(graph, { threads: 0 })).toThrow(/options\.threads: threads must be a positive integer, got 0/);
  });

  it("runs on a private fixed heap, single-threaded (what engines without SharedArrayBuffer get)", () => {
    const { graph, params, data } = mlpStep();
    const schedule = scheduleGraph(graph, orThrow(fuseElementwise(graph)));
    const backend = wasmProgramBackend(schedule, { heap: "private" })!;
    const plan = buildPlan(schedule, new Map([["batch", 48]]), backend);
    expect(plan.info.steps.filter((s) => s.backend === "wasm").length).toBeGreaterThan(5);
    const feeds = { ...params, ...data };
    const got = plan.execute(feeds);
    const want = evaluate(graph.outputs, feeds);
    got.forEach((v, i) => expect(f32Mismatches(v.data, want[i]!.data, 1e-4, 1e-5), graph.outputNames[i]).toEqual([]));
  });

  it.each([
    ["--jitless", "js", false],
    ["", "wasm", true],
  ])("selects the backend by what the engine offers (node %s): backend %s, threads %s", (flag, backend, threads) => {
    const script = path.join(root, "test/wasm/fixtures/backend-selection.ts");
    const child = spawnSync(process.execPath, [...(flag === "" ? [] : [flag]), "--import", "tsx", script], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const report = JSON.parse(child.stdout.trim().split("\n").pop()!) as { backend: string; threads: boolean; maxDiff: number; wasmSteps: number };
    expect(report.backend).toBe(backend);
    expect(report.threads).toBe(threads);
    expect(report.maxDiff).toBeLessThan(1e-5);
    expect(report.wasmSteps > 0).toBe(backend === "wasm");
  });
});
