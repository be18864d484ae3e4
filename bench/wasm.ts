/**
 * `npx tsx bench/wasm.ts`: the fast (wasm) backend against the JavaScript peers and
 * native ONNX Runtime, side by side in one process, interleaved rounds, medians, ratios.
 *
 * Prints: fp32 matmul GFLOP/s for N = 128…1024 (typegrad on its default threads and on
 * one thread, tfjs-backend-wasm, jax-js, onnxruntime-node with 1 and 2 threads); ms per
 * training step of the MLP 784-256-256-10 (batch 128; typegrad wasm and js backends,
 * jax-js jit(valueAndGrad), tfjs-wasm, onnxruntime 2 threads); and the issue's targets
 * with the measured figures. Peers are optional (`npm run bench:peers`).
 *
 * Flags: --quick (1 round), --rounds=N (default 5), --only=matmul|mlp, --sizes=128,1024.
 */
import { pathToFileURL } from "node:url";
import * as tg from "../src/index.js";
import { compile, type CompileOptions } from "../runtime/program.js";
import { tensorValue, type TensorValue } from "../runtime/value.js";
import { wasmFeatures } from "../runtime/wasm/features.js";
import { defaultThreads } from "../runtime/wasm/context.js";
import { markdownTable, measure, type Contender, type Timing } from "./measure.js";
import { loadPeers } from "./peers.js";
import { MLP_BATCH, MLP_SIZES, matmulOrt, matmulTf, mlpBatch, mlpOrt, mlpStepGraph, mlpTf, recyclingMlpStep } from "./cases.js";
import { loadJax, loadOrtThreads, matmulJax, mlpJax } from "./wasmPeers.js";

/** Deterministic values in [-1, 1) (xorshift32). */
export const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
};

/** What `benchWasm` runs: rounds, short batches (`quick`), one part only, matmul sizes. */
export interface WasmBenchOptions {
  readonly rounds: number;
  readonly quick: boolean;
  readonly only?: "matmul" | "mlp" | undefined;
  readonly sizes: readonly number[];
}

/** Options from the command line (`--quick`, `--rounds=N`, `--only=matmul|mlp`, `--sizes=128,1024`). */
export const wasmBenchOptions = (argv: readonly string[]): WasmBenchOptions => {
  const flag = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes("--quick");
  const only = flag("only");
  if (only !== undefined && only !== "matmul" && only !== "mlp") throw new Error(`--only must be matmul or mlp, got ${only}`);
  return { rounds: Number(flag("rounds") ?? (quick ? 1 : 5)), quick, only, sizes: (flag("sizes") ?? "128,256,512,1024").split(",").map(Number) };
};

const matmulOurs = (n: number, label: string, options: CompileOptions): Contender => {
  const program = compile(tg.buildGraph(tg.matmul(tg.input("a", [n, n], "f32"), tg.input("b", [n, n], "f32"))), options);
  const feeds = { a: tensorValue("f32", [n, n], values(n * n, 1)), b: tensorValue("f32", [n, n], values(n * n, 2)) };
  let out: TensorValue[] | undefined;
  // Outputs handed back for reuse: the figure is the product, not the allocation of a fresh 4 MiB array.
  return { label, run: () => void (out = program.run(feeds, out === undefined ? {} : { reuse: out })) };
};

const mlpOursWith = (label: string, options: CompileOptions, initial: Readonly<Record<string, TensorValue>>): Contender & { firstLoss(): number } => {
  const batch = mlpBatch();
  const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
  const program = compile(mlpStepGraph(), options);
  const step = recyclingMlpStep(() => program, initial, data);
  return { label, run: step.run, firstLoss: step.firstLoss };
};

const table = (caseLabel: string, rows: { name: string; timings: Timing[] }[], figure: (t: Timing, row: string) => number, higherIsBetter: boolean, digits: number): string => {
  const labels = [...new Set(rows.flatMap((r) => r.timings.map((t) => t.label)))];
  const ours = labels[0]!;
  const header = [caseLabel, ...labels.flatMap((l, i) => (i === 0 ? [l] : [l, `${ours} vs it`]))];
  const body = rows.map((r) => {
    const mine = r.timings.find((t) => t.label === ours)!;
    return [
      r.name,
      ...labels.flatMap((l, i) => {
        const t = r.timings.find((x) => x.label === l);
        if (t === undefined) return i === 0 ? ["—"] : ["—", ""];
        const v = figure(t, r.name);
        if (i === 0) return [v.toFixed(digits)];
        const ratio = higherIsBetter ? figure(mine, r.name) / v : v / figure(mine, r.name);
        return [v.toFixed(digits), `${ratio.toFixed(2)}x`];
      }),
    ];
  });
  return markdownTable(header, body);
};

/**
 * The fast-backend section: the header line, the matmul and MLP tables and the targets, as Markdown.
 * @example console.log(await benchWasm(wasmBenchOptions(["--quick"])));
 */
export const benchWasm = async (options: WasmBenchOptions): Promise<string> => {
  const { rounds, quick, only, sizes } = options;
  const out: string[] = [];
  const features = wasmFeatures();
  const threads = defaultThreads();
  const tf = await loadPeers(new Set(["tfjs-wasm"]));
  const jax = await loadJax();
  const ort1 = await loadOrtThreads(1);
  const ort2 = await loadOrtThreads(2);
  out.push(
    `typegrad fast backend benchmark — Node ${process.version}, ${rounds} interleaved round(s), medians; ` +
      `wasm SIMD ${features.simd}, relaxed SIMD (FMA) ${features.relaxedSimd} (${features.relaxedSimdSource}), threads ${threads}\n` +
      `Peers: tfjs-wasm: ${tf.status.get("tfjs-wasm")}; jax-js: ${jax.status}; onnxruntime: ${ort1.status}\n`,
  );
  const results: Record<string, number> = {};
  if (only !== "mlp") {
    const rows: { name: string; timings: Timing[] }[] = [];
    for (const n of sizes) {
      const contenders: Contender[] = [
        matmulOurs(n, `typegrad ${threads} threads`, {}),
        matmulOurs(n, "typegrad 1 thread", { threads: 1 }),
        ...tf.backends.map((b) => matmulTf(b, n)),
        ...(jax.peer === undefined ? [] : [matmulJax(jax.peer, n, values)]),
        ...[ort1.peer, ort2.peer].flatMap((p) => (p === undefined ? [] : [matmulOrt(p, n)])),
      ];
      const timings = await measure(contenders, { rounds, minBatchSeconds: quick ? 0.05 : 0.3 });
      rows.push({ name: `N = ${n}`, timings });
      for (const t of timings) results[`matmul ${n} ${t.label}`] = (2 * n ** 3) / t.seconds / 1e9;
      process.stderr.write(`matmul N=${n} done\n`);
    }
    out.push("### fp32 matmul, GFLOP/s (higher is better; ratio = ours / theirs)\n");
    out.push(table("case", rows, (t, row) => (2 * Number(row.slice(4)) ** 3) / t.seconds / 1e9, true, 1) + "\n");
  }
  if (only !== "matmul") {
    const initial = tg.initParams(mlpStepGraph(), 42)[0];
    const ours = mlpOursWith(`typegrad ${threads} threads`, {}, initial);
    const contenders = [
      ours,
      mlpOursWith("typegrad 1 thread", { threads: 1 }, initial),
      mlpOursWith("typegrad js backend", { backend: "js" }, initial),
      ...(jax.peer === undefined ? [] : [mlpJax(jax.peer, initial)]),
      ...tf.backends.map((b) => mlpTf(b, initial)),
      ...(ort2.peer === undefined ? [] : [mlpOrt(ort2.peer, initial)]),
    ];
    const timings = await measure(contenders, { rounds, minBatchSeconds: quick ? 0.2 : 0.6 });
    for (const t of timings) results[`mlp ${t.label}`] = t.seconds * 1000;
    out.push(`### MLP 784-256-256-10 training step, batch ${MLP_BATCH}, ms (lower is better; ratio = theirs / ours)\n`);
    out.push(table("case", [{ name: "SGD step", timings }], (t) => t.seconds * 1000, false, 2) + "\n");
    out.push(`First-step losses (same params and batch): ${contenders.map((c) => `${c.label} ${"firstLoss" in c ? (c as { firstLoss(): number }).firstLoss().toFixed(5) : "?"}`).join(", ")}\n`);
  }
  const r = (k: string): number | undefined => results[k];
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}x`);
  const oursMatmul = r(`matmul 1024 typegrad ${threads} threads`);
  const oursMlp = r(`mlp typegrad ${threads} threads`);
  const lines = [
    "### Targets (issue 7)",
    "",
    `- matmul N=1024: ${oursMatmul?.toFixed(1) ?? "n/a"} GFLOP/s (target ≥ 60); vs tfjs-wasm ${ratio(oursMatmul, r("matmul 1024 tfjs-wasm"))} (≥ 2.5x); vs jax-js ${ratio(oursMatmul, r("matmul 1024 jax-js"))} (≥ 3x); vs onnxruntime 2 threads ${ratio(oursMatmul, r("matmul 1024 onnxruntime 2 threads"))} (≥ 0.65x)`,
    `- MLP step: ${oursMlp?.toFixed(2) ?? "n/a"} ms (target ≤ 5); jax-js / ours ${ratio(r("mlp jax-js"), oursMlp)} (≥ 3x)`,
  ];
  out.push(lines.join("\n"));
  return out.join("\n");
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  benchWasm(wasmBenchOptions(process.argv.slice(2))).then(
    (text) => {
      console.log(text);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
