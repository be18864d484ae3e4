import * as tg from "../src/index.js";
import { compile } from "../src/index.js";
import { tensorValue, type TensorValue } from "../runtime/value.js";
import { MLP_BATCH, MLP_SIZES, mlpBatch, mlpStepGraph, nextName, mlpTf, mlpOrt } from "./cases.js";
import { loadJax, loadOrtThreads, mlpJax } from "./wasmPeers.js";
import { loadPeers } from "./peers.js";
import { measure } from "./measure.js";
const which = (process.argv[2] ?? "").split(",");
const recycle = process.argv.includes("--recycle");
const initial = tg.initParams(mlpStepGraph(), 42)[0];
const ours = (label: string) => {
  const batch = mlpBatch();
  const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
  const program = compile(mlpStepGraph(), {});
  let params: Record<string, TensorValue> = { ...initial };
  let old: Record<string, TensorValue> | undefined;
  return { label, run: () => {
    const reuse: Record<string, TensorValue> = {};
    if (recycle && old) for (const n of Object.keys(old)) reuse[nextName(n)] = old[n]!;
    const out = program.runNamed({ ...params, ...data }, { reuse });
    old = params;
    const next: Record<string, TensorValue> = {};
    for (const name of Object.keys(params)) next[name] = out[nextName(name)]!;
    params = next;
  } };
};
const cs: any[] = [ours("ours")];
if (which.includes("jax")) { const j = await loadJax(); cs.push(mlpJax(j.peer!, initial)); }
if (which.includes("tf")) { const tf = await loadPeers(new Set(["tfjs-wasm"])); cs.push(...tf.backends.map((b) => mlpTf(b, initial))); }
if (which.includes("ort")) { const o = await loadOrtThreads(2); cs.push(mlpOrt(o.peer!, initial)); }
const t = await measure(cs, { rounds: 5, minBatchSeconds: 0.6 });
console.log(process.argv.slice(2).join(" "), t.map((x) => `${x.label} ${(x.seconds * 1000).toFixed(2)} [${x.samples.map((s) => (s * 1000).toFixed(2)).join(" ")}]`).join(" | "));
process.exit(0);
