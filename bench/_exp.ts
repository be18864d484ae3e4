import * as tg from "../src/index.js";
import { compile } from "../src/index.js";
import { tensorValue, type TensorValue } from "../runtime/value.js";
import { MLP_BATCH, MLP_SIZES, mlpBatch, mlpStepGraph, nextName } from "../bench/cases.js";
const recycle = process.argv.includes("--recycle");
const batch = mlpBatch();
const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
const program = compile(mlpStepGraph(), {});
let params: Record<string, TensorValue> = { ...tg.initParams(mlpStepGraph(), 42)[0] };
let old: Record<string, TensorValue> | undefined;
const step = () => {
  const reuse: Record<string, TensorValue> = {};
  if (recycle && old) for (const n of Object.keys(old)) reuse[nextName(n)] = old[n]!;
  const out = program.runNamed({ ...params, ...data }, { reuse });
  old = params;
  const next: Record<string, TensorValue> = {};
  for (const name of Object.keys(params)) next[name] = out[nextName(name)]!;
  params = next;
};
for (let i = 0; i < 50; i++) step();
await new Promise((r) => setTimeout(r, 200));
const meds: number[] = [];
for (let r = 0; r < 9; r++) {
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) step();
  meds.push((performance.now() - t0) / 100);
}
meds.sort((a, b) => a - b);
console.log(`spin=${process.env.TYPEGRAD_SPIN_MS ?? "default"} recycle=${recycle} median ${meds[4]!.toFixed(3)} ms min ${meds[0]!.toFixed(3)}`);
process.exit(0);
