/**
 * The per-binding half of a compiled program: concrete shapes, the memory plan, the
 * arena and the step closures for one binding of the symbolic dims.
 *
 * Takes a `Schedule` and the sizes bound to its symbolic dims. Checks every node's shape
 * rule on the concrete shapes (a ShapeError names the op, the shapes, the bindings and
 * the user's source line), plans the intermediate buffers with `planMemory`, allocates
 * one ArrayBuffer arena with a typed-array view per buffer, plans each matmul and binds
 * each fused loop. `execute(feeds)` then only runs closures: feeds are read in place,
 * outputs are fresh arrays on every run (never part of the arena, so later runs cannot
 * clobber them), and intermediates live in the arena, which the plan owns and the garbage
 * collector frees with it.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type OpParams, type RuntimeShape } from "../src/ops.js";
import type { Node } from "../src/graph/node.js";
import { formatLoc } from "../src/graph/location.js";
import { formatShape } from "../src/graph/shapes.js";
import { ShapeError } from "../src/errors.js";
import { inferShape } from "../compiler/rules/shape.js";
import { planMemory, type BufferRequest, type MemoryPlan } from "../compiler/passes/planMemory.js";
import { orThrow } from "../compiler/errors.js";
import { kernels, type Kernel } from "./kernels/index.js";
import { sizeOf } from "./kernels/strided.js";
import { concreteShape, formatBindings, type DimBindings } from "./bind.js";
import { allocate, bytesPerElement, type TensorValue, type TypedArray } from "./value.js";
import { planMatmul, runMatmul, scratchBytesFor, scratchFor, type MatmulPlan } from "./matmul/batched.js";
import type { GemmScratch } from "./matmul/gemm.js";
import { bindFusedLoop } from "./codegen/elementwise.js";
import { baseSlot, type Schedule, type ScheduledStep } from "./programSchedule.js";
import type { ProgramBackend } from "./wasm/backend.js";

/** One step of a plan, for inspection. */
export interface PlannedStep {
  readonly kind: ScheduledStep["kind"];
  readonly op: string;
  /** The slot written (a node id, or an extra slot for a copied output). */
  readonly slot: number;
  /** Slots read. */
  readonly reads: readonly number[];
  /** Ops computed by the step (more than one for a fused loop). */
  readonly ops: readonly string[];
  readonly shape: readonly number[];
  /** Where the step runs: a generated wasm kernel, or a JavaScript kernel/loop. */
  readonly backend: "wasm" | "js";
}

/** What one binding's plan does and how much memory it holds. */
export interface ExecutionPlan {
  readonly bindings: DimBindings;
  /** Concrete shape of every slot. */
  readonly shapes: readonly (readonly number[])[];
  readonly steps: readonly PlannedStep[];
  /** Slots that share another slot's data (reshape-like ops), mapped to the slot owning the data. */
  readonly views: ReadonlyMap<number, number>;
  /** Placements of the arena buffers; buffer ids are slots. */
  readonly memory: MemoryPlan;
  /** Arena size: the most intermediate bytes live at once. */
  readonly peakBytes: number;
  /** Bytes a node-by-node evaluation allocates for intermediates: every non-leaf, non-output node. */
  readonly naiveBytes: number;
  /** Packing buffers of the tiled matmul, held by the plan next to the arena. */
  readonly scratchBytes: number;
  /** Bytes of the outputs, allocated fresh on every run. */
  readonly outputBytes: number;
}

/** Time spent in one step, summed over profiled runs. */
export interface StepTiming {
  readonly step: PlannedStep;
  /** Milliseconds per run, averaged over the profiled runs. */
  readonly ms: number;
}

export interface BuiltPlan {
  readonly info: ExecutionPlan;
  /**
   * Runs the plan. Outputs are fresh arrays, except that `reuse[i]` (say, an output of an
   * earlier run the caller no longer needs) gives output i its array when dtype and size
   * match and no feed of this run shares its buffer.
   */
  readonly execute: (feeds: Readonly<Record<string, TensorValue>>, reuse?: readonly (TensorValue | undefined)[]) => TensorValue[];
  /** Runs `runs` times, timing every step; returns the steps, slowest first. */
  readonly profile: (feeds: Readonly<Record<string, TensorValue>>, runs: number) => StepTiming[];
}

/** Params with symbolic target shapes (reshape, broadcastTo, scatterAdd) made concrete. */
const bindParams = (node: Node, bindings: DimBindings): E.Either<string, OpParams[Op]> => {
  const shape = (node.params as { readonly shape?: RuntimeShape }).shape;
  if (shape === undefined || shape.every((d) => typeof d === "number")) return E.right(node.params);
  return E.map((concrete: number[]) => ({ ...node.params, shape: concrete }) as OpParams[Op])(concreteShape(shape, bindings));
};

const shapeText = (dtype: string, shape: readonly number[], declared: RuntimeShape): string =>
  `${dtype}${formatShape(shape)}${declared.some((d) => typeof d === "string") ? ` (declared ${formatShape(declared)})` : ""}`;

/** Concrete shapes of every node slot, each checked against its op's rule. */
const resolveShapes = (schedule: Schedule, bindings: DimBindings, params: (OpParams[Op] | undefined)[]): number[][] => {
  const { graph } = schedule;
  const where = `with ${formatBindings(bindings)}`;
  const shapes: number[][] = [];
  for (const node of graph.nodes) {
    const declared = concreteShape(node.shape, bindings);
    if (E.isLeft(declared)) throw new ShapeError(node.op, `its shape ${formatShape(node.shape)} uses symbolic dim '${declared.left}', which no feed binds (${where})`, node.loc);
    shapes.push(declared.right);
    if (node.op === Op.Input || node.op === Op.Param || node.op === Op.Constant) continue;
    const bound = bindParams(node, bindings);
    if (E.isLeft(bound)) throw new ShapeError(node.op, `symbolic dim '${bound.left}' in its params is not bound by any feed (${where})`, node.loc);
    params[graph.ids.get(node)!] = bound.right;
    const inputs = node.inputs.map((i) => ({ shape: shapes[graph.ids.get(i)!]!, dtype: i.dtype }));
    const rule = inferShape(node.op, inputs, bound.right);
    const inputsText = node.inputs.map((i, k) => shapeText(i.dtype, inputs[k]!.shape, i.shape)).join(", ");
    if (E.isLeft(rule)) throw new ShapeError(node.op, `${rule.left} (inputs ${inputsText}; ${where})`, node.loc);
    const got = rule.right.shape as readonly number[];
    if (got.length !== declared.right.length || got.some((d, i) => d !== declared.right[i]) || rule.right.dtype !== node.dtype)
      throw new ShapeError(
        node.op,
        `declared ${node.dtype}${formatShape(node.shape)} = ${node.dtype}${formatShape(declared.right)} but its inputs ${inputsText} give ${rule.right.dtype}${formatShape(got)} (${where})`,
        node.loc,
      );
  }
  return shapes;
};

const readsOf = (schedule: Schedule, step: ScheduledStep): number[] => {
  const ids = schedule.graph.ids;
  switch (step.kind) {
    case "fused":
      return step.emitted.arrays.map((a) => ids.get(a.node)!);
    case "copy":
      return [step.from];
    default:
      return step.node.inputs.map((i) => ids.get(i)!);
  }
};

const withLocation = (node: Node, run: () => void): void => {
  try {
    run();
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`${node.op} at ${formatLoc(node.loc)}: ${e.message}`, { cause: e });
    throw e;
  }
};

const viewOf = (dtype: TensorValue["dtype"], buffer: ArrayBufferLike, offset: number, length: number): TypedArray => {
  switch (dtype) {
    case "f32":
      return new Float32Array(buffer, offset, length);
    case "f64":
      return new Float64Array(buffer, offset, length);
    case "i32":
      return new Int32Array(buffer, offset, length);
    case "bool":
      return new Uint8Array(buffer, offset, length);
  }
};

/**
 * Builds the plan of `schedule` for `bindings` (feeds already validated by the binder).
 * @example const plan = buildPlan(schedule, new Map([["batch", 128]])); plan.execute(feeds);
 */
/** Arena buffer requests: each buffer lives from the step writing it to the last step reading it, directly or through views. */
const bufferRequests = (schedule: Schedule, reads: readonly (readonly number[])[], bytesOf: (slot: number) => number): BufferRequest[] => {
  const firstStep = new Map<number, number>();
  const lastStep = new Map<number, number>();
  schedule.steps.forEach((step, t) => {
    if (!schedule.freshSlots.has(step.slot)) firstStep.set(step.slot, t);
    for (const r of reads[t]!) {
      const base = baseSlot(schedule.storage, r);
      if (firstStep.has(base)) lastStep.set(base, Math.max(lastStep.get(base) ?? t, t));
    }
  });
  return [...firstStep].map(([slot, t]) => ({ id: slot, bytes: bytesOf(slot), firstStep: t, lastStep: lastStep.get(slot) ?? t }));
};

type StepRun = (vals: TensorValue[]) => void;

/** The closure of one step for concrete shapes; matmul steps register their plan (the scratch is made once all are known). */
const stepRunner = (
  step: ScheduledStep,
  reads: readonly number[],
  shapes: readonly (readonly number[])[],
  params: readonly (OpParams[Op] | undefined)[],
  matmuls: { plans: MatmulPlan[]; scratch: () => GemmScratch },
): StepRun => {
  const out = step.slot;
  const r = reads;
  switch (step.kind) {
    case "fused": {
      const bound = bindFusedLoop(step.emitted, step.loop, shapes[out]!, r.map((s) => shapes[s]!));
      const ins: TypedArray[] = r.map(() => new Float64Array(0));
      return (vals) => {
        for (let k = 0; k < r.length; k++) ins[k] = vals[r[k]!]!.data;
        bound.run(vals[out]!.data, ins);
      };
    }
    case "matmul": {
      const plan = planMatmul(shapes[r[0]!]!, shapes[r[1]!]!, step.node.params as OpParams["matmul"], shapes[out]!);
      matmuls.plans.push(plan);
      return (vals) => runMatmul(plan, vals[r[0]!]!.data, vals[r[1]!]!.data, vals[out]!.data, matmuls.scratch());
    }
    case "copy":
      return (vals) => vals[out]!.data.set(vals[step.from]!.data);
    case "kernel": {
      const kernel = kernels[step.node.op] as Kernel<Op>;
      const p = params[out]!;
      const ins: TensorValue[] = [];
      const node = step.node;
      return (vals) => {
        for (let k = 0; k < r.length; k++) ins[k] = vals[r[k]!]!;
        withLocation(node, () => kernel(ins, p, vals[out]!));
      };
    }
  }
};

/**
 * Builds the plan of `schedule` for `bindings` (feeds already validated by the binder).
 * @example const plan = buildPlan(schedule, new Map([["batch", 128]])); plan.execute(feeds);
 */
export const buildPlan = (schedule: Schedule, bindings: DimBindings, backend?: ProgramBackend): BuiltPlan => {
  const { graph, storage, steps, slotNodes } = schedule;
  const params: (OpParams[Op] | undefined)[] = [];
  const nodeShapes = resolveShapes(schedule, bindings, params);
  // Frozen: the same arrays are handed to kernels on every run and to callers as output shapes.
  const shapes = slotNodes.map((n, slot) => Object.freeze(slot < graph.nodes.length ? nodeShapes[slot]! : nodeShapes[graph.ids.get(n)!]!));
  const bytesOf = (slot: number): number => sizeOf(shapes[slot]!) * bytesPerElement(slotNodes[slot]!.dtype);
  const reads = steps.map((s) => readsOf(schedule, s));
  const memory = orThrow(planMemory(bufferRequests(schedule, reads, bytesOf)));
  // The fast backend places the arena in its WebAssembly heap, where its kernels address it.
  const accelerator = backend?.forPlan(shapes, memory);
  const arena = accelerator?.arena ?? new ArrayBuffer(memory.peakBytes);
  const arenaOffset = accelerator?.arenaOffset ?? 0;
  // Fixed values: constants, arena buffers and aliases of them. Per-run: feeds, fresh outputs, aliases of those.
  const fixed: (TensorValue | undefined)[] = new Array<TensorValue | undefined>(schedule.slotCount);
  for (const p of memory.placements) {
    const dtype = slotNodes[p.id]!.dtype;
    fixed[p.id] = { dtype, shape: shapes[p.id]!, data: viewOf(dtype, arena, arenaOffset + p.offset, sizeOf(shapes[p.id]!)) };
  }
  storage.forEach((s, slot) => {
    if (s.kind === "constant") fixed[slot] = s.value;
  });
  const perRunAliases: { slot: number; base: number }[] = [];
  storage.forEach((s, slot) => {
    if (s.kind !== "alias") return;
    const base = baseSlot(storage, slot);
    const baseValue = fixed[base];
    if (baseValue === undefined) perRunAliases.push({ slot, base });
    else fixed[slot] = { dtype: slotNodes[slot]!.dtype, shape: shapes[slot]!, data: baseValue.data };
  });
  const feedSlots = storage.flatMap((s, slot) => (s.kind === "feed" ? [{ slot, name: s.name }] : []));
  const fresh = [...schedule.freshSlots].map((slot) => ({ slot, dtype: slotNodes[slot]!.dtype, shape: shapes[slot]!, size: sizeOf(shapes[slot]!) }));
  let scratch: GemmScratch | undefined;
  const matmuls = { plans: [] as MatmulPlan[], scratch: (): GemmScratch => scratch! };
  const fast = steps.map((step, t) => accelerator?.runner(step, reads[t]!));
  const runs = steps.map((step, t) => fast[t] ?? stepRunner(step, reads[t]!, shapes, params, matmuls));
  const matmulPlans = matmuls.plans;
  scratch = scratchFor(matmulPlans);
  const outputSlots = schedule.outputSlots;
  const outputIndex = new Map(outputSlots.map((slot, i) => [slot, i]));
  /** An array from `reuse` for an output slot, if it fits and is not read by this run. */
  const recycled = (slot: number, dtype: TensorValue["dtype"], size: number, reuse: readonly (TensorValue | undefined)[] | undefined, fed: ReadonlySet<unknown>): TypedArray | undefined => {
    const i = outputIndex.get(slot);
    const r = i === undefined ? undefined : reuse?.[i];
    return r !== undefined && r.dtype === dtype && r.data.length === size && !fed.has(r.data.buffer) ? r.data : undefined;
  };
  const bindValues = (feeds: Readonly<Record<string, TensorValue>>, reuse?: readonly (TensorValue | undefined)[]): TensorValue[] => {
    const vals = fixed.slice() as TensorValue[];
    for (const f of feedSlots) vals[f.slot] = feeds[f.name]!;
    const fed = new Set<unknown>(reuse === undefined ? [] : feedSlots.map((f) => feeds[f.name]!.data.buffer));
    for (const f of fresh) vals[f.slot] = { dtype: f.dtype, shape: f.shape, data: recycled(f.slot, f.dtype, f.size, reuse, fed) ?? allocate(f.dtype, f.size) };
    for (const a of perRunAliases) vals[a.slot] = { dtype: slotNodes[a.slot]!.dtype, shape: shapes[a.slot]!, data: vals[a.base]!.data };
    return vals;
  };
  const execute = (feeds: Readonly<Record<string, TensorValue>>, reuse?: readonly (TensorValue | undefined)[]): TensorValue[] => {
    const vals = bindValues(feeds, reuse);
    for (const run of runs) run(vals);
    return outputSlots.map((s) => vals[s]!);
  };
  const profile = (feeds: Readonly<Record<string, TensorValue>>, count: number): StepTiming[] => {
    const total = new Float64Array(runs.length);
    for (let k = 0; k < count; k++) {
      const vals = bindValues(feeds);
      runs.forEach((run, t) => {
        const t0 = performance.now();
        run(vals);
        total[t]! += performance.now() - t0;
      });
    }
    return info.steps.map((step, t) => ({ step, ms: total[t]! / Math.max(count, 1) })).sort((a, b) => b.ms - a.ms);
  };
  const intermediate = (slot: number): boolean => {
    const n = slotNodes[slot]!;
    return slot < graph.nodes.length && n.op !== Op.Input && n.op !== Op.Param && n.op !== Op.Constant && !schedule.freshSlots.has(slot) && !graph.outputs.includes(n);
  };
  const info: ExecutionPlan = {
    bindings,
    shapes,
    steps: steps.map((s, t) => ({
      kind: s.kind,
      op: s.node.op,
      slot: s.slot,
      reads: reads[t]!,
      ops: s.kind === "fused" ? s.group.members.map((m) => m.op) : [s.node.op],
      shape: shapes[s.slot]!,
      backend: fast[t] === undefined ? "js" : "wasm",
    })),
    views: new Map(storage.flatMap((s, slot) => (s.kind === "alias" ? [[slot, baseSlot(storage, slot)] as const] : []))),
    memory,
    peakBytes: memory.peakBytes,
    naiveBytes: graph.nodes.reduce((acc, _n, slot) => acc + (intermediate(slot) ? bytesOf(slot) : 0), 0),
    scratchBytes: scratchBytesFor(matmulPlans),
    outputBytes: fresh.reduce((acc, f) => acc + bytesOf(f.slot), 0),
  };
  const built = { info, execute, profile };
  accelerator?.attach(built);
  return built;
};
