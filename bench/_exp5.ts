import * as tg from "../src/index.js";
import { readdirSync, readFileSync } from "node:fs";
import { mlpStepGraph, mlpOrt } from "./cases.js";
import { loadOrtThreads } from "./wasmPeers.js";
const ticks = () => Object.fromEntries(readdirSync("/proc/self/task").map((t) => { const f = readFileSync(`/proc/self/task/${t}/stat`, "utf8"); const after = f.slice(f.lastIndexOf(")") + 2).split(" "); return [`${t}:${f.slice(f.indexOf("(") + 1, f.lastIndexOf(")"))}`, Number(after[11]) + Number(after[12])]; }));
const initial = tg.initParams(mlpStepGraph(), 42)[0];
const o = await loadOrtThreads(2);
const c = mlpOrt(o.peer!, initial);
await c.prepare?.();
for (let i = 0; i < 200; i++) await c.run();
const a = ticks();
const end = Date.now() + 1000; while (Date.now() < end) {}
const b = ticks();
for (const k of Object.keys(b)) if ((b[k]! - (a[k] ?? 0)) > 0) console.log(k, b[k]! - (a[k] ?? 0), "ticks (10ms) in 1s busy main");
process.exit(0);
