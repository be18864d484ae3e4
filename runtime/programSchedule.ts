/**
 * The binding-independent half of a compiled program: which node is computed by which
 * kind of step, where each value lives, and the generated fused loops.
 *
 * Takes a verified graph and its fusion plan. Returns the steps in topological order and
 * a storage decision per node: leaves read the caller's feeds in place (never written),
 * constants are materialized once, reshape-like ops (reshape, expandDims, squeeze,
 * stopGradient) alias their input's data, non-root members of fused groups have no
 * storage at all, and every other node is written by one step. A program output that
 * would not own fresh storage (a leaf, a constant, an alias) gets a copy step into an
 * extra slot, so outputs never share data with feeds, constants or each other's inputs.
 * Fused loop sources are built and compiled here, once per program.
 */
import { Op } from "../src/ops.js";
import type { Graph } from "../src/graph/graph.js";
import type { Node } from "../src/graph/node.js";
import type { FusedGroup, FusionPlan } from "../compiler/passes/fuseElementwise.js";
import { runKernel } from "./kernels/index.js";
import { allocate, type TensorValue } from "./value.js";
import { sizeOf } from "./kernels/strided.js";
import { compileFusedLoop, emitFusedLoop, type FusedLoop, type FusedLoopSource } from "./codegen/elementwise.js";

/** Ops whose output is their input's data under another shape. */
const VIEW_OPS: ReadonlySet<Op> = new Set<Op>([Op.Reshape, Op.ExpandDims, Op.Squeeze, Op.StopGradient]);

/** Where a node's value lives. Slots are node ids, then one extra slot per copied output. */
export type Storage =
  | { readonly kind: "feed"; readonly name: string }
  | { readonly kind: "constant"; readonly value: TensorValue }
  | { readonly kind: "alias"; readonly of: number }
  | { readonly kind: "inlined" }
  | { readonly kind: "computed" };

export type ScheduledStep =
  | { readonly kind: "fused"; readonly node: Node; readonly slot: number; readonly group: FusedGroup; readonly emitted: FusedLoopSource; readonly loop: FusedLoop }
  | { readonly kind: "matmul"; readonly node: Node; readonly slot: number }
  | { readonly kind: "kernel"; readonly node: Node; readonly slot: number }
  /** Copies node `from`'s value into the extra output slot `slot`. */
  | { readonly kind: "copy"; readonly node: Node; readonly slot: number; readonly from: number };

export interface Schedule {
  readonly graph: Graph;
  readonly fusion: FusionPlan;
  /** Storage of node slot i (node id i). */
  readonly storage: readonly Storage[];
  readonly steps: readonly ScheduledStep[];
  /** Slot of each graph output (a node slot, or an extra copy slot). */
  readonly outputSlots: readonly number[];
  /** Slots written fresh on every run (the outputs' own storage). */
  readonly freshSlots: ReadonlySet<number>;
  /** Total slots: node slots plus extra copy slots. */
  readonly slotCount: number;
  /** The node each slot holds the value of. */
  readonly slotNodes: readonly Node[];
}

/** The slot whose data an alias slot shares, following chains of views. */
export const baseSlot = (storage: readonly Storage[], slot: number): number => {
  let s = slot;
  for (let st = storage[s]; st !== undefined && st.kind === "alias"; st = storage[s]) s = st.of;
  return s;
};

const materializeConstant = (node: Extract<Node, { op: typeof Op.Constant }>): TensorValue => {
  const shape = node.params.shape as readonly number[];
  const value: TensorValue = { dtype: node.dtype, shape, data: allocate(node.dtype, sizeOf(shape)) };
  runKernel(Op.Constant, [], node.params, value);
  return value;
};

/**
 * Decides steps and storage for a graph and its fusion plan.
 * @example const schedule = scheduleGraph(graph, orThrow(fuseElementwise(graph)));
 */
export const scheduleGraph = (graph: Graph, fusion: FusionPlan): Schedule => {
  const outputs = new Set(graph.outputs);
  const storage: Storage[] = [];
  const steps: ScheduledStep[] = [];
  const slotNodes: Node[] = [...graph.nodes];
  const freshSlots = new Set<number>();
  const copySlot = new Map<Node, number>();
  for (const [id, node] of graph.nodes.entries()) {
    const group = fusion.groupOf.get(node);
    if (node.op === Op.Input || node.op === Op.Param) storage.push({ kind: "feed", name: node.params.name });
    else if (node.op === Op.Constant) storage.push({ kind: "constant", value: materializeConstant(node) });
    else if (group !== undefined && group.root !== node) storage.push({ kind: "inlined" });
    else if (VIEW_OPS.has(node.op)) storage.push({ kind: "alias", of: graph.ids.get(node.inputs[0]!)! });
    else {
      storage.push({ kind: "computed" });
      if (outputs.has(node)) freshSlots.add(id);
      if (group !== undefined) {
        const emitted = emitFusedLoop(group);
        steps.push({ kind: "fused", node, slot: id, group, emitted, loop: compileFusedLoop(emitted) });
      } else steps.push({ kind: node.op === Op.MatMul ? "matmul" : "kernel", node, slot: id });
      continue;
    }
    if (outputs.has(node) && storage[id]!.kind !== "inlined") {
      // Right where the value exists, so an aliased buffer is not kept alive longer.
      const slot = slotNodes.length;
      slotNodes.push(node);
      freshSlots.add(slot);
      copySlot.set(node, slot);
      steps.push({ kind: "copy", node, slot, from: id });
    }
  }
  const outputSlots = graph.outputs.map((o) => copySlot.get(o) ?? graph.ids.get(o)!);
  return { graph, fusion, storage, steps, outputSlots, freshSlots, slotCount: slotNodes.length, slotNodes };
};
