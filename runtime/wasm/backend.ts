/**
 * The fast backend of compiled programs: places a plan's arena in the WebAssembly heap
 * and runs its f32 matmuls and convolutions (conv2d and both backprop ops) on the
 * generated GEMM (threaded), its vectorizable fused groups on generated SIMD functions
 * (large ones split across the threads), f32 randomUniform on a generator bit-identical
 * to the JS kernel,
 * and sums, means, softmax and logSoftmax over contiguous axes on SIMD reductions; every
 * other step keeps its JavaScript kernel, which reads and writes the
 * same arena through typed-array views.
 *
 * Takes a program's schedule (once per program: `wasmProgramBackend` compiles the fused
 * groups into one module) and, per execution plan, the concrete shapes and memory plan
 * (`forPlan`). Guarantees: wasm steps read their operands where the JS kernels would
 * (arena buffers in place; feeds, constants and JS-written outputs through staging
 * copies in the heap, copied at most once per run and slot); wasm steps writing an output
 * copy it into the run's fresh output array; results agree with the JS kernels within
 * float32 tolerance (the GEMM accumulates in f32, possibly with FMA; see `elementwise.ts`
 * for the fused groups); a plan's heap blocks are freed when the plan is garbage collected.
 * Without WebAssembly SIMD `wasmProgramBackend` returns undefined and programs run on the
 * JavaScript kernels.
 */
import type { Conv2dParams, OpParams, ReduceParams } from "../../src/ops.js";
import type { MemoryPlan } from "../../compiler/passes/planMemory.js";
import { bytesPerElement, type TensorValue } from "../value.js";
import { sizeOf } from "../kernels/strided.js";
import { planMatmul } from "../matmul/batched.js";
import { baseSlot, type Schedule, type ScheduledStep } from "../programSchedule.js";
import { defaultThreads, fixedWasmContext, maxThreads, sharedWasmContext, type WasmContext } from "./context.js";
import { compileWasmFused, bindWasmFused, FUSED_SPLIT_ELEMENTS, type WasmFusedModule } from "./elementwise.js";
import { planWasmMatmul, type WasmMatmul } from "./matmul.js";
import { COLS_CHUNK_BYTES, FILTER_PARTS, planWasmConv, WASM_CONV_OPS, type ConvOp } from "./conv.js";
import { planWasmReduce, WASM_REDUCE_OPS } from "./reduce.js";
import { planWasmRandom } from "./random.js";
import type { RandomUniformParams } from "../kernels/random.js";
import { wasmFeatures } from "./features.js";
import { GEMM_SCRATCH_BYTES, GemmDescriptor } from "./gemmModule.js";
import { HEAP_ALIGN } from "./heap.js";

/** Runs one step on the run's values (indexed by slot). */
export type StepRun = (vals: TensorValue[]) => void;

/** The fast backend's part of one execution plan. */
export interface PlanAccelerator {
  /** The buffer holding the arena, and the arena's byte offset in it. */
  readonly arena: ArrayBuffer | SharedArrayBuffer;
  readonly arenaOffset: number;
  /** The wasm runner of a step, or undefined when the step keeps its JavaScript kernel. */
  runner(step: ScheduledStep, reads: readonly number[]): StepRun | undefined;
  /** Frees the plan's heap blocks once `owner` (the plan) is garbage collected. */
  attach(owner: object): void;
}

export interface WasmBackendOptions {
  /** Threads for large matmuls (default: `TYPEGRAD_THREADS` or the machine's cores; at most the cores). */
  readonly threads?: number;
  /**
   * "shared" (default where shared memories exist): the process-wide heap, worker threads;
   * "private": a fixed heap per plan, one thread (what engines without SharedArrayBuffer get).
   */
  readonly heap?: "shared" | "private";
}

/** The fast backend of one program. */
export interface ProgramBackend {
  readonly name: "wasm";
  /** How many of the program's fused groups run as generated wasm functions (the others stay JavaScript loops). */
  readonly fusedInWasm: number;
  forPlan(shapes: readonly (readonly number[])[], memory: MemoryPlan): PlanAccelerator;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

const freeLater = new FinalizationRegistry<() => void>((release) => release());

/**
 * The fast backend for a program, or undefined where WebAssembly SIMD is unavailable.
 * @example const backend = wasmProgramBackend(schedule, { threads: 2 }); const accel = backend?.forPlan(shapes, memory, params);
 */
export const wasmProgramBackend = (schedule: Schedule, options: WasmBackendOptions = {}): ProgramBackend | undefined => {
  const features = wasmFeatures();
  if (!features.simd) return undefined;
  const threads = Math.max(1, Math.min(options.threads ?? defaultThreads(), maxThreads()));
  const fusedSteps = schedule.steps.filter((s): s is Extract<ScheduledStep, { kind: "fused" }> => s.kind === "fused");
  const compiled: WasmFusedModule | undefined = compileWasmFused(
    fusedSteps.map((s) => s.emitted),
    features.threads && options.heap !== "private",
  );
  const fusedIndex = new Map(fusedSteps.map((s, k) => [s, k]));
  return {
    name: "wasm",
    fusedInWasm: compiled === undefined ? 0 : compiled.exportNames.filter((n) => n !== undefined).length,
    forPlan: (shapes, memory) => buildAccelerator(schedule, shapes, memory, { threads, compiled, fusedIndex, privateHeap: options.heap === "private" || !features.threads }),
  };
};

interface Shared {
  readonly threads: number;
  readonly compiled: WasmFusedModule | undefined;
  readonly fusedIndex: ReadonlyMap<ScheduledStep, number>;
  readonly privateHeap: boolean;
}

/** Slots a wasm step may touch that do not live in the arena: feeds, constants, fresh outputs. */
const externalSlots = (schedule: Schedule, memory: MemoryPlan): Set<number> => {
  const inArena = new Set(memory.placements.map((p) => p.id));
  const out = new Set<number>();
  for (let slot = 0; slot < schedule.slotCount; slot++) {
    const base = baseSlot(schedule.storage, slot);
    if (!inArena.has(base)) out.add(base);
  }
  return out;
};

const buildAccelerator = (
  schedule: Schedule,
  shapes: readonly (readonly number[])[],
  memory: MemoryPlan,
  shared: Shared,
): PlanAccelerator => {
  /** Bytes of a slot's value (its dtype's element size: f32 steps, bool masks of fused groups). */
  const bytesOf = (slot: number): number => bytesPerElement(schedule.slotNodes[slot]!.dtype) * sizeOf(shapes[slot]!);
  const bytesView = (v: TensorValue): Uint8Array => new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  const external = externalSlots(schedule, memory);
  const stagedBytes = [...external].reduce((acc, s) => acc + roundUp(Math.max(bytesOf(s), 1), HEAP_ALIGN), 0);
  const ctx = (shared.privateHeap ? undefined : sharedWasmContext()) ?? fixedWasmContext(memory.peakBytes + stagedBytes + 2 * GEMM_SCRATCH_BYTES + heapOverhead(schedule, shapes));
  if (ctx === undefined) throw new Error("typegrad: WebAssembly SIMD validated but no wasm context could be created");
  const blocks: number[] = [];
  const arenaAt = ctx.heap.allocate(memory.peakBytes);
  blocks.push(arenaAt);
  new Uint8Array(ctx.heap.buffer, arenaAt, memory.peakBytes).fill(0);
  const placement = new Map(memory.placements.map((p) => [p.id, p.offset]));
  const staging = new Map<number, { at: number; vals: TensorValue[] | undefined }>();
  const addressOf = (slot: number): number => {
    const base = baseSlot(schedule.storage, slot);
    const offset = placement.get(base);
    if (offset !== undefined) return arenaAt + offset;
    let rec = staging.get(base);
    if (rec === undefined) {
      rec = { at: ctx.heap.allocate(Math.max(bytesOf(base), 1)), vals: undefined };
      blocks.push(rec.at);
      staging.set(base, rec);
      const st = schedule.storage[base];
      // Constants never change: staged once.
      if (st?.kind === "constant") new Uint8Array(ctx.heap.buffer, rec.at, bytesOf(base)).set(bytesView(st.value));
    }
    return rec.at;
  };
  /** Copies an external operand into its staging block, once per run. */
  const stageIn = (slot: number, vals: TensorValue[]): void => {
    const base = baseSlot(schedule.storage, slot);
    const rec = staging.get(base);
    if (rec === undefined || rec.vals === vals || schedule.storage[base]?.kind === "constant") return;
    new Uint8Array(ctx.heap.buffer, rec.at, bytesOf(base)).set(bytesView(vals[base]!));
    rec.vals = vals;
  };
  /** Copies a wasm-written output from staging into the run's fresh array (and marks the staging current). */
  const stageOut = (slot: number, vals: TensorValue[]): void => {
    const rec = staging.get(slot);
    if (rec === undefined) return;
    bytesView(vals[slot]!).set(new Uint8Array(ctx.heap.buffer, rec.at, bytesOf(slot)));
    rec.vals = vals;
  };
  const releases: (() => void)[] = [];

  const wrap = (step: ScheduledStep, reads: readonly number[], kernel: (out: number, ins: readonly number[]) => void): StepRun => {
    const out = step.slot;
    const outAt = addressOf(out);
    const ins = reads.map(addressOf);
    const stagedReads = reads.filter((r) => external.has(baseSlot(schedule.storage, r)));
    const outExternal = external.has(out);
    return (vals) => {
      for (const r of stagedReads) stageIn(r, vals);
      kernel(outAt, ins);
      if (outExternal) stageOut(out, vals);
    };
  };

  const runner = (step: ScheduledStep, reads: readonly number[]): StepRun | undefined => {
    if (step.kind === "matmul" && step.node.dtype === "f32") {
      const [a, b] = [reads[0]!, reads[1]!];
      const plan = planMatmul(shapes[a]!, shapes[b]!, step.node.params as OpParams["matmul"], shapes[step.slot]!);
      const mm: WasmMatmul = planWasmMatmul(ctx, plan, shared.threads);
      releases.push(() => mm.free());
      return wrap(step, reads, (out, ins) => mm.run(ins[0]!, ins[1]!, out));
    }
    if (step.kind === "kernel" && WASM_CONV_OPS.has(step.node.op) && step.node.dtype === "f32") {
      const conv = planWasmConv(ctx, step.node.op as ConvOp, reads.map((r) => shapes[r]!), shapes[step.slot]!, step.node.params as Conv2dParams, shared.threads);
      releases.push(() => conv.free());
      return wrap(step, reads, (out, ins) => conv.run(ins, out));
    }
    if (step.kind === "kernel" && WASM_REDUCE_OPS.has(step.node.op) && step.node.dtype === "f32") {
      const reduce = planWasmReduce(ctx, step.node.op, shapes[reads[0]!]!, step.node.params as ReduceParams, shared.threads);
      if (reduce === undefined) return undefined;
      releases.push(() => reduce.free?.());
      return wrap(step, reads, (out, ins) => reduce.run(ins[0]!, out));
    }
    if (step.kind === "kernel" && step.node.op === "randomUniform" && step.node.dtype === "f32") {
      const random = planWasmRandom(ctx, shapes[step.slot]!, step.node.params as RandomUniformParams, shared.threads);
      // The key (rank 0 i32) is read where wrap placed it, like any operand.
      return random === undefined ? undefined : wrap(step, reads, (out, ins) => random.run(new Int32Array(ctx.heap.buffer, ins[0]!, 1)[0]!, out));
    }
    if (step.kind === "fused" && shared.compiled !== undefined) {
      const index = shared.fusedIndex.get(step)!;
      if (shared.compiled.exportNames[index] === undefined) return undefined;
      // Workers start only for a group worth splitting.
      const pool = sizeOf(shapes[step.slot]!) >= FUSED_SPLIT_ELEMENTS ? ctx.pool(shared.threads) : undefined;
      const threading = pool === undefined ? undefined : { pool, threads: shared.threads };
      const bound = bindWasmFused(ctx, shared.compiled, index, step.emitted, shapes[step.slot]!, reads.map((r) => shapes[r]!), threading);
      releases.push(() => bound.free());
      return wrap(step, reads, (out, ins) => bound.run(out, ins));
    }
    return undefined;
  };

  return {
    arena: ctx.heap.buffer,
    arenaOffset: arenaAt,
    runner,
    attach(owner) {
      const heap = ctx.heap;
      freeLater.register(owner, () => {
        for (const release of releases) release();
        for (const at of blocks) heap.free(at);
      });
    },
  };
};

/** Heap bytes beyond arena and staging a plan may allocate on a fixed heap: matmul descriptors and fused row tables. */
const heapOverhead = (schedule: Schedule, shapes: readonly (readonly number[])[]): number => {
  let bytes = 1 << 16;
  for (const step of schedule.steps) {
    const shape = shapes[step.slot]!;
    if (step.kind === "matmul") bytes += GemmDescriptor.bytes + 8 * sizeOf(shape.slice(0, -2)) + 2 * HEAP_ALIGN;
    if (step.kind === "fused") bytes += step.emitted.arrays.length * (4 * Math.max(sizeOf(shape.slice(0, -1)), 1) + HEAP_ALIGN);
    // Intermediate buffers of sums and means over several runs of axes: together at most the input's size.
    if (step.kind === "kernel" && (step.node.op === "sum" || step.node.op === "mean")) {
      const axes = (step.node.params as ReduceParams).axes;
      const input = shapes[schedule.graph.ids.get(step.node.inputs[0]!)!]!;
      if (axes.length > 1) bytes += 4 * sizeOf(input) + axes.length * HEAP_ALIGN;
    }
    if (step.kind === "kernel" && WASM_CONV_OPS.has(step.node.op)) {
      // The cols buffer: (channels per group · kernel taps) x output positions, bounded by the largest operand's planes.
      const operands = [...step.node.inputs.map((i) => shapes[schedule.graph.ids.get(i)!]!), shape];
      const planes = Math.max(...operands.map((s) => sizeOf(s.slice(2))));
      const taps = Math.max(...operands.map((s) => sizeOf(s.slice(1))));
      // Chunked products: a cols buffer of up to COLS_CHUNK_BYTES (or one image's), and two batched plans' descriptors and offset tables.
      const pairs = operands[0]![0]! * (step.node.params as Conv2dParams).groups;
      bytes += Math.max(4 * planes * taps, COLS_CHUNK_BYTES) + 3 * (GemmDescriptor.bytes + 8 * pairs + 4 * HEAP_ALIGN);
      // The filter gradient's partial sums and their products' descriptors.
      if (step.node.op === "conv2dBackpropFilter") bytes += FILTER_PARTS * (4 * sizeOf(shape) + 2 * (GemmDescriptor.bytes + 8 * pairs + 4 * HEAP_ALIGN));
    }
  }
  return bytes;
};
