/**
 * Memory planning: places the intermediate buffers of a schedule in one arena, reusing
 * space by liveness.
 *
 * Takes buffer requests (bytes, the step that writes the buffer, the last step that
 * reads it; steps are positions in the executor's schedule). Returns an offset for every
 * buffer such that two buffers whose live ranges [firstStep, lastStep] intersect never
 * share a byte, every offset is a multiple of the alignment, and the arena size
 * (`peakBytes`) is the end of the highest buffer. A buffer read by step t is never
 * reused for the output of step t, so kernels never see their inputs and output overlap.
 * Feeds, constants and program outputs are not requested here, so they are never
 * clobbered. Pure; errors (malformed requests) are CompileError values.
 *
 * Strategy: greedy by size (largest first, each at the lowest-waste gap among the
 * buffers it overlaps in time), which is close to optimal on typical graphs; above
 * `GREEDY_LIMIT` buffers it switches to a linear-time online best-fit over a free list.
 */
import * as E from "fp-ts/lib/Either.js";
import { compileError, type CompileError } from "../errors.js";

const PASS = "planMemory";

/** One buffer to place. `id` is the caller's (e.g. a node id); ids are unique. */
export interface BufferRequest {
  readonly id: number;
  readonly bytes: number;
  /** The step that writes the buffer. */
  readonly firstStep: number;
  /** The last step that reads it (at least `firstStep`). */
  readonly lastStep: number;
}

/** Where a buffer lives: bytes [offset, offset + bytes) of the arena. */
export interface BufferPlacement extends BufferRequest {
  readonly offset: number;
}

export interface MemoryPlan {
  /** One placement per request, in request order. */
  readonly placements: readonly BufferPlacement[];
  /** Arena size: the most bytes live at once, including alignment padding and fragmentation. */
  readonly peakBytes: number;
  /** What allocating every buffer separately would take: the sum of all requested bytes. */
  readonly naiveBytes: number;
  readonly alignment: number;
  readonly strategy: "greedyBySize" | "onlineBestFit";
}

export interface PlanMemoryOptions {
  /** Offset alignment in bytes, a power of two, at least 8 (so any typed array fits). Default 64. */
  readonly alignment?: number;
  /** "auto" (default): greedy by size up to `GREEDY_LIMIT` buffers, online best-fit above. */
  readonly strategy?: "auto" | "greedyBySize" | "onlineBestFit";
}

/** Above this many buffers the quadratic greedy strategy gives way to the online one. */
export const GREEDY_LIMIT = 4096;

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

const validate = (requests: readonly BufferRequest[], alignment: number): string | undefined => {
  if (!Number.isSafeInteger(alignment) || alignment < 8 || (alignment & (alignment - 1)) !== 0) return `alignment must be a power of two >= 8, got ${alignment}`;
  const seen = new Set<number>();
  for (const [i, r] of requests.entries()) {
    const where = `request ${i} (buffer ${r.id})`;
    if (seen.has(r.id)) return `${where}: buffer id ${r.id} is requested twice`;
    seen.add(r.id);
    if (!Number.isSafeInteger(r.bytes) || r.bytes < 0) return `${where}: bytes must be a non-negative integer, got ${r.bytes}`;
    if (!Number.isSafeInteger(r.firstStep) || !Number.isSafeInteger(r.lastStep) || r.firstStep < 0 || r.lastStep < r.firstStep)
      return `${where}: live range [${r.firstStep}, ${r.lastStep}] is not a range of steps`;
  }
  return undefined;
};

const overlapsInTime = (a: BufferRequest, b: BufferRequest): boolean => a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;

/** Largest first; each buffer goes into the smallest gap between time-overlapping placed buffers that fits. */
const greedyBySize = (requests: readonly BufferRequest[], alignment: number): number[] => {
  const offsets = new Array<number>(requests.length).fill(0);
  const order = requests.map((_, i) => i).sort((i, j) => requests[j]!.bytes - requests[i]!.bytes || requests[i]!.firstStep - requests[j]!.firstStep || i - j);
  const placed: number[] = [];
  for (const i of order) {
    const r = requests[i]!;
    const size = alignUp(r.bytes, alignment);
    if (size === 0) continue;
    const busy = placed
      .filter((j) => overlapsInTime(r, requests[j]!))
      .map((j) => ({ start: offsets[j]!, end: offsets[j]! + alignUp(requests[j]!.bytes, alignment) }))
      .sort((a, b) => a.start - b.start);
    let best: number | undefined;
    let bestWaste = Infinity;
    let cursor = 0;
    for (const b of busy) {
      const gap = b.start - cursor;
      if (gap >= size && gap - size < bestWaste) {
        best = cursor;
        bestWaste = gap - size;
      }
      cursor = Math.max(cursor, b.end);
    }
    offsets[i] = best ?? cursor;
    placed.push(i);
  }
  return offsets;
};

interface FreeBlock {
  start: number;
  size: number;
}

/** Walks the steps; frees buffers after their last read, allocates best-fit from a coalescing free list. */
const onlineBestFit = (requests: readonly BufferRequest[], alignment: number): number[] => {
  const offsets = new Array<number>(requests.length).fill(0);
  const byStart = requests.map((_, i) => i).sort((i, j) => requests[i]!.firstStep - requests[j]!.firstStep || i - j);
  const byEnd = requests.map((_, i) => i).sort((i, j) => requests[i]!.lastStep - requests[j]!.lastStep || i - j);
  const free: FreeBlock[] = [];
  let top = 0;
  let released = 0;
  const release = (start: number, size: number): void => {
    let at = free.findIndex((b) => b.start > start);
    if (at < 0) at = free.length;
    free.splice(at, 0, { start, size });
    const next = free[at + 1];
    if (next !== undefined && start + size === next.start) {
      free[at]!.size += next.size;
      free.splice(at + 1, 1);
    }
    const prev = free[at - 1];
    if (prev !== undefined && prev.start + prev.size === start) {
      prev.size += free[at]!.size;
      free.splice(at, 1);
    }
    const last = free[free.length - 1];
    if (last !== undefined && last.start + last.size === top) {
      top = last.start;
      free.pop();
    }
  };
  for (const i of byStart) {
    const r = requests[i]!;
    // Buffers whose last read is before this step are dead now.
    while (released < byEnd.length && requests[byEnd[released]!]!.lastStep < r.firstStep) {
      const j = byEnd[released++]!;
      const size = alignUp(requests[j]!.bytes, alignment);
      if (size > 0) release(offsets[j]!, size);
    }
    const size = alignUp(r.bytes, alignment);
    if (size === 0) continue;
    let best = -1;
    for (let b = 0; b < free.length; b++) if (free[b]!.size >= size && (best < 0 || free[b]!.size < free[best]!.size)) best = b;
    if (best < 0) {
      offsets[i] = top;
      top += size;
      continue;
    }
    const block = free[best]!;
    offsets[i] = block.start;
    block.start += size;
    block.size -= size;
    if (block.size === 0) free.splice(best, 1);
  }
  return offsets;
};

/**
 * Places `requests` in one arena.
 * @example
 * const plan = planMemory([
 *   { id: 3, bytes: 400, firstStep: 0, lastStep: 1 },
 *   { id: 4, bytes: 400, firstStep: 1, lastStep: 2 },
 *   { id: 5, bytes: 400, firstStep: 2, lastStep: 3 },
 * ]); // Right: buffers 3 and 5 share offset 0, peakBytes 896, naiveBytes 1200
 */
export const planMemory = (requests: readonly BufferRequest[], options: PlanMemoryOptions = {}): E.Either<CompileError, MemoryPlan> => {
  const alignment = options.alignment ?? 64;
  const problem = validate(requests, alignment);
  if (problem !== undefined) return E.left(compileError(PASS, "internal", problem));
  const wanted = options.strategy ?? "auto";
  const strategy = wanted === "auto" ? (requests.length <= GREEDY_LIMIT ? "greedyBySize" : "onlineBestFit") : wanted;
  const offsets = strategy === "greedyBySize" ? greedyBySize(requests, alignment) : onlineBestFit(requests, alignment);
  const placements = requests.map((r, i) => ({ ...r, offset: offsets[i]! }));
  const peakBytes = placements.reduce((acc, p) => Math.max(acc, p.bytes === 0 ? 0 : p.offset + alignUp(p.bytes, alignment)), 0);
  const naiveBytes = requests.reduce((acc, r) => acc + r.bytes, 0);
  return E.right({ placements, peakBytes, naiveBytes, alignment, strategy });
};
