/**
 * `npm run bench`: typegrad against its peers, side by side in one process.
 *
 * Prints Markdown tables: fp32 matmul GFLOP/s for N = 128, 256, 512, 1024; ms per
 * training step of the MLP 784-256-256-10 (batch 128), also against the reference
 * interpreter; the step program's memory plan; compile times of the examples' steps. Each peer column comes from the same run, with the ratio of our
 * figure to it (above 1 means typegrad is faster). Peers are optional (`npm run
 * bench:peers` installs them); missing ones print "not installed".
 *
 * Then the fast-backend section of `bench/wasm.ts` (matmul and MLP step against
 * tfjs-wasm, jax-js and onnxruntime) and the model section of `bench/modelPeers.ts` (the
 * ResNet CNN and the char Transformer training steps against jax-js and tfjs-wasm).
 *
 * Flags: --quick (1 round, short batches, every section), --rounds=N (default 5),
 * --only=matmul|mlp|wasm|models (one section; matmul and mlp are parts of the first),
 * --sizes=128,256 (matmul sizes, first and wasm sections), --peers=tfjs-cpu,tfjs-wasm
 * (only these peers, first section).
 */
import { loadPeers, PEER_LABELS, type Peers } from "./peers.js";
import { formatBytes, markdownTable, measure, type Contender, type Timing } from "./measure.js";
import { matmulOrt, matmulOurs, matmulPlainLoop, matmulTf, mlpInterpreter, mlpOrt, mlpOurs, mlpTf, MLP_BATCH } from "./cases.js";
import { benchExampleCompiles } from "./examples.js";
import { benchWasm } from "./wasm.js";
import { benchModels } from "./modelPeers.js";

const SECTIONS = ["matmul", "mlp", "wasm", "models"] as const;
type Section = (typeof SECTIONS)[number];

interface Flags {
  readonly rounds: number;
  readonly minBatchSeconds: number;
  readonly quick: boolean;
  readonly only: Section | undefined;
  readonly sizes: readonly number[];
  readonly peers: ReadonlySet<string> | undefined;
}

const parseFlags = (argv: readonly string[]): Flags => {
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes("--quick");
  const only = value("only");
  if (only !== undefined && !(SECTIONS as readonly string[]).includes(only)) throw new Error(`--only must be one of ${SECTIONS.join(", ")}; got ${only}`);
  const sizes = (value("sizes") ?? "128,256,512,1024").split(",").map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`--sizes must be positive integers, got ${value("sizes")}`);
  const peerList = value("peers")?.split(",");
  const unknown = peerList?.find((p) => !(PEER_LABELS as readonly string[]).includes(p));
  if (unknown !== undefined) throw new Error(`--peers takes a comma-separated list of ${PEER_LABELS.join(", ")}; got '${unknown}'`);
  return { rounds: Number(value("rounds") ?? (quick ? 1 : 5)), minBatchSeconds: quick ? 0.05 : 0.25, quick, only: only as Section | undefined, sizes, peers: peerList === undefined ? undefined : new Set(peerList) };
};

const peerColumns = (peers: Peers): string[] => ["js i-k-j loop", ...PEER_LABELS].filter((l) => l === "js i-k-j loop" || peers.status.has(l));

/** Cells for one case: our figure, then each peer's figure and our ratio to it. */
const cells = (timings: readonly Timing[], columns: readonly string[], figure: (t: Timing) => number, format: (x: number) => string, higherIsBetter: boolean, peers: Peers): string[] => {
  const ours = timings.find((t) => t.label === "typegrad")!;
  const out = [format(figure(ours))];
  for (const col of columns) {
    const t = timings.find((x) => x.label === col);
    if (t === undefined) {
      const why = peers.status.get(col);
      out.push(why === undefined || why.startsWith("@") ? "—" : why, "");
      continue;
    }
    const ratio = higherIsBetter ? figure(ours) / figure(t) : figure(t) / figure(ours);
    out.push(format(figure(t)), `${ratio.toFixed(2)}x`);
  }
  return out;
};

const header = (first: string, columns: readonly string[]): string[] => [first, "typegrad", ...columns.flatMap((c) => [c, `vs ${c}`])];

const benchMatmul = async (flags: Flags, peers: Peers): Promise<string> => {
  const columns = peerColumns(peers);
  const rows: string[][] = [];
  for (const n of flags.sizes) {
    const contenders: Contender[] = [matmulOurs(n), ...(n <= 512 ? [matmulPlainLoop(n)] : []), ...peers.backends.map((b) => matmulTf(b, n)), ...peers.ort.map((o) => matmulOrt(o, n))];
    const timings = await measure(contenders, flags);
    const gflops = (t: Timing): number => (2 * n ** 3) / t.seconds / 1e9;
    rows.push([`N = ${n}`, ...cells(timings, columns, gflops, (x) => x.toFixed(2), true, peers)]);
    process.stderr.write(`matmul N=${n} done\n`);
  }
  return `### fp32 matmul, GFLOP/s (2·N³ / time; higher is better)\n\n${markdownTable(header("case", columns), rows)}`;
};

const benchMlp = async (flags: Flags, peers: Peers): Promise<string> => {
  const columns = ["reference interpreter", ...PEER_LABELS.filter((l) => peers.status.has(l))];
  const ours = mlpOurs();
  const theirs = [mlpInterpreter(ours.initialParams()), ...peers.backends.map((b) => mlpTf(b, ours.initialParams())), ...peers.ort.map((o) => mlpOrt(o, ours.initialParams()))];
  const timings = await measure([ours, ...theirs], { ...flags, minBatchSeconds: Math.max(flags.minBatchSeconds, 0.5) });
  const ms = (t: Timing): number => t.seconds * 1000;
  const table = markdownTable(header("case", columns), [[`MLP 784-256-256-10 step, batch ${MLP_BATCH}, ms`, ...cells(timings, columns, ms, (x) => x.toFixed(1), false, peers)]]);
  const plan = ours.program().plan(ours.feeds());
  const losses = [`typegrad ${ours.firstLoss().toFixed(5)}`, ...theirs.map((t) => `${t.label} ${t.firstLoss().toFixed(5)}`)].join(", ");
  const memory = markdownTable(
    ["typegrad MLP step program", "value"],
    [
      ["compile time (grad graph, optimize, fuse, codegen)", `${(ours.compileSeconds() * 1000).toFixed(0)} ms`],
      ["graph nodes after optimization", String(ours.program().graph.nodes.length)],
      ["fused loops / ops in them", `${plan.steps.filter((s) => s.kind === "fused").length} / ${plan.steps.filter((s) => s.kind === "fused").reduce((a, s) => a + s.ops.length, 0)}`],
      ["peakBytes (arena, intermediates live at once)", formatBytes(plan.peakBytes)],
      ["naiveBytes (every intermediate allocated)", formatBytes(plan.naiveBytes)],
      ["matmul packing scratch", formatBytes(plan.scratchBytes)],
      ["outputs (loss and new params; the step hands back the arrays of two steps before for reuse)", formatBytes(plan.outputBytes)],
      ["first-step loss, same params and batch (must agree)", losses],
    ],
  );
  const slowest = ours
    .program()
    .profile(ours.feeds(), 5)
    .slice(0, 8)
    .map((t) => [`${t.step.kind} ${t.step.ops.join(" → ")}`, `[${t.step.shape.join(", ")}]`, t.ms.toFixed(2)]);
  const profile = markdownTable(["slowest steps of our program", "output shape", "ms"], slowest);
  return `### Training step, ms per step (lower is better; ratio = peer time / ours)\n\n${table}\n\n${memory}\n\n${profile}`;
};

const main = async (): Promise<void> => {
  const flags = parseFlags(process.argv.slice(2));
  const wants = (section: Section): boolean => flags.only === undefined || flags.only === section;
  if (wants("matmul") || wants("mlp")) {
    const peers = await loadPeers(flags.peers);
    const lines = [
      `typegrad benchmark — Node ${process.version}, ${flags.rounds} interleaved round(s), median per implementation`,
      "",
      "## 1. Issue 4 cases: typegrad (default compile options) against tfjs-cpu, tfjs-wasm, onnxruntime 1 thread and the reference interpreter",
      "",
      "Peers: " + [...peers.status].map(([label, s]) => `${label}: ${s}`).join("; "),
    ];
    if (peers.backends.length === 0 && peers.ort.length === 0) lines.push("(run `npm run bench:peers` to install the peers)");
    console.log(lines.join("\n") + "\n");
    if (wants("matmul")) console.log((await benchMatmul(flags, peers)) + "\n");
    if (wants("mlp")) console.log((await benchMlp(flags, peers)) + "\n");
    if (flags.only === undefined) console.log(benchExampleCompiles() + "\n");
  }
  if (wants("wasm")) {
    console.log("## 2. Fast (wasm) backend against tfjs-wasm, jax-js and onnxruntime (`bench/wasm.ts`)\n");
    console.log((await benchWasm({ rounds: flags.rounds, quick: flags.quick, sizes: flags.sizes })) + "\n");
  }
  if (wants("models")) {
    console.log("## 3. Example models: training step against jax-js and tfjs-wasm (`bench/modelPeers.ts`)\n");
    console.log(`${flags.rounds} interleaved round(s), medians; typegrad on its default (wasm) backend\n`);
    console.log((await benchModels({ rounds: flags.rounds, minBatchSeconds: flags.quick ? 0.05 : 0.5, profile: true })) + "\n");
  }
};

// Exit explicitly: peers' thread pools (and ours) would otherwise keep the process alive.
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
