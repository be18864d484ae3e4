/**
 * `npx tsx bench/profile-wasm.ts`: where the fast backend's time goes, for the two cases of
 * issue 7 (fp32 matmul N = 1024, the MLP 784-256-256-10 training step).
 *
 * Prints, from one process with interleaved rounds (medians): the 1024³ product on 1 and 2
 * threads next to onnxruntime-node with 1 and 2 threads (the fair reference on a shared
 * machine: it suffers the same load), with the calling thread's share of the two-thread
 * run (time inside its own chunks vs waiting for the worker's last chunk); then the MLP
 * step's slowest plan steps (`program.profile`) on 1 and 2 threads. The load average is
 * printed first: on this 2-core machine, other people's jobs change every figure.
 *
 * Flags: --rounds=N (default 7), --only=matmul|mlp, --n=1024.
 */
import os from "node:os";
import * as tg from "../src/index.js";
import { compile } from "../runtime/program.js";
import { tensorValue, type TensorValue } from "../runtime/value.js";
import { planMatmul } from "../runtime/matmul/batched.js";
import { sharedWasmContext, type WasmContext } from "../runtime/wasm/context.js";
import { planWasmMatmul } from "../runtime/wasm/matmul.js";
import { measure, markdownTable, type Contender } from "./measure.js";
import { MLP_BATCH, MLP_SIZES, matmulOrt, mlpBatch, mlpStepGraph } from "./cases.js";
import { loadOrtThreads } from "./wasmPeers.js";

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const rounds = Number(flag("rounds") ?? 7);
const only = flag("only");
const size = Number(flag("n") ?? 1024);

/** Deterministic values in [-1, 1]. */
const randomValues = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));

const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(" ");

/** The product on `threads` threads straight on the plan, timing the calling thread's chunks. */
const matmulDirect = (n: number, threads: number, shape: { m: number; k: number; n: number; transposeA?: boolean; transposeB?: boolean } = { m: n, k: n, n }): Contender & { localShare(): number } => {
  const ctx = sharedWasmContext()!;
  let localMs = 0;
  let totalMs = 0;
  const timed = {
    ...ctx,
    gemmChunks: (desc: number, scratch: number) => {
      const t0 = performance.now();
      ctx.gemmChunks(desc, scratch);
      localMs += performance.now() - t0;
    },
  };
  const { m, k } = shape;
  const [ta, tb] = [shape.transposeA === true, shape.transposeB === true];
  const plan = planMatmul(ta ? [k, m] : [m, k], tb ? [shape.n, k] : [k, shape.n], { transposeA: ta, transposeB: tb }, [m, shape.n]);
  const mm = planWasmMatmul(timed, plan, threads);
  const a = ctx.heap.allocate(4 * m * k);
  const b = ctx.heap.allocate(4 * k * shape.n);
  const c = ctx.heap.allocate(4 * m * shape.n);
  new Float32Array(ctx.heap.buffer, a, m * k).set(randomValues(m * k, 1));
  new Float32Array(ctx.heap.buffer, b, k * shape.n).set(randomValues(k * shape.n, 2));
  return {
    label: `typegrad ${threads} thread${threads === 1 ? "" : "s"} ${m}x${k}${ta ? "ᵀ" : ""}·${k}x${shape.n}${tb ? "ᵀ" : ""} (${mm.split.kind})`,
    run: () => {
      const t0 = performance.now();
      mm.run(a, b, c);
      totalMs += performance.now() - t0;
    },
    localShare: () => (totalMs === 0 ? Number.NaN : localMs / totalMs),
  };
};

const matmulSection = async (): Promise<void> => {
  const ort1 = await loadOrtThreads(1);
  const ort2 = await loadOrtThreads(2);
  const two = matmulDirect(size, 2);
  const contenders: Contender[] = [
    two,
    matmulDirect(size, 1),
    ...[ort1.peer, ort2.peer].flatMap((p) => (p === undefined ? [] : [matmulOrt(p, size)])),
  ];
  const before = load();
  const timings = await measure(contenders, { rounds, minBatchSeconds: 0.3 });
  const gflops = (s: number): number => (2 * size ** 3) / s / 1e9;
  console.log(`### matmul N = ${size}, GFLOP/s (median of ${rounds} interleaved rounds; load average before ${before}, after ${load()})\n`);
  const ours = gflops(timings[0]!.seconds);
  console.log(
    markdownTable(
      ["contender", "GFLOP/s", "min–max", "2-thread typegrad vs it"],
      timings.map((t) => [t.label, gflops(t.seconds).toFixed(1), `${gflops(Math.max(...t.samples)).toFixed(1)}–${gflops(Math.min(...t.samples)).toFixed(1)}`, `${(ours / gflops(t.seconds)).toFixed(2)}x`]),
    ),
  );
  console.log(`\nTwo threads: the calling thread spent ${(100 * two.localShare()).toFixed(0)}% of each run in its own chunks (the rest waiting for the worker).\n`);
};

/** The MLP step's products alone, 1 vs 2 threads. */
const mlpProducts = async (): Promise<void> => {
  const shapes = [
    { m: 128, k: 784, n: 256 },
    { m: 784, k: 128, n: 256, transposeA: true },
    { m: 128, k: 256, n: 256 },
    { m: 256, k: 128, n: 256, transposeA: true },
    { m: 128, k: 256, n: 256, transposeB: true },
  ];
  const contenders = shapes.flatMap((s) => [matmulDirect(0, 2, s), matmulDirect(0, 1, s)]);
  const timings = await measure(contenders, { rounds, minBatchSeconds: 0.1 });
  console.log(`### The MLP step's products alone, ms (median of ${rounds} interleaved rounds; load average ${load()})\n`);
  console.log(
    markdownTable(
      ["product", "ms", "calling thread's share"],
      timings.map((t, i) => [t.label, (1000 * t.seconds).toFixed(3), i % 2 === 0 ? `${(100 * contenders[i]!.localShare()).toFixed(0)}%` : ""]),
    ),
  );
  console.log("");
};

const mlpSection = (): void => {
  const batch = mlpBatch();
  const graph = mlpStepGraph();
  const initial = tg.initParams(graph, 42)[0];
  const feeds: Record<string, TensorValue> = {
    ...initial,
    x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x),
    labels: tensorValue("i32", [MLP_BATCH], batch.labels),
  };
  // The calling thread's chunks and whole dispatches of the programs' products, timed.
  const ctx = sharedWasmContext()! as { -readonly [K in keyof WasmContext]: WasmContext[K] };
  const { gemmChunks, pool } = ctx;
  let localMs = 0;
  let dispatchMs = 0;
  let dispatches = 0;
  ctx.gemmChunks = (desc, scratch) => {
    const t0 = performance.now();
    gemmChunks(desc, scratch);
    localMs += performance.now() - t0;
  };
  ctx.pool = (threads) => {
    const p = pool(threads);
    return p === undefined
      ? undefined
      : {
          ...p,
          threads: p.threads,
          run: (parts, local) => {
            const t0 = performance.now();
            p.run(parts, local);
            dispatchMs += performance.now() - t0;
            dispatches++;
          },
        };
  };
  for (const threads of [2, 1]) {
    const program = compile(graph, { threads });
    localMs = dispatchMs = dispatches = 0;
    for (let i = 0; i < 50; i++) program.run(feeds);
    const steps = program.profile(feeds, 300);
    const total = steps.reduce((acc, s) => acc + s.ms, 0);
    console.log(`### MLP step on ${threads} thread(s): ${total.toFixed(2)} ms summed over ${steps.length} steps (load average ${load()})\n`);
    console.log(
      markdownTable(
        ["step", "backend", "shape", "ms", "share"],
        steps.slice(0, 14).map((s) => [s.step.ops.join("+").slice(0, 60), s.step.backend, `[${s.step.shape.join(",")}]`, s.ms.toFixed(3), `${((100 * s.ms) / total).toFixed(1)}%`]),
      ),
    );
    const byBackend = new Map<string, number>();
    for (const s of steps) {
      const key = `${s.step.backend} ${s.step.kind === "matmul" ? "matmul" : s.step.kind}`;
      byBackend.set(key, (byBackend.get(key) ?? 0) + s.ms);
    }
    console.log(`\nBy kind: ${[...byBackend].map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(", ")}`);
    if (dispatches > 0) console.log(`Threaded products: ${(dispatches / 350).toFixed(1)} per step, ${((1000 * dispatchMs) / dispatches).toFixed(0)} µs each, the calling thread in its own chunks ${((100 * localMs) / dispatchMs).toFixed(0)}% of that`);
    console.log("");
  }
};

const main = async (): Promise<void> => {
  console.log(`typegrad fast backend profile — Node ${process.version}, ${os.availableParallelism()} cores, load average ${load()}\n`);
  if (only !== "mlp") await matmulSection();
  if (only !== "matmul") {
    await mlpProducts();
    mlpSection();
  }
};

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
