/**
 * Naive references of the windowed ops and the random op, for `naive.ts`.
 *
 * Written from the ops' definitions and sharing no code with `runtime/kernels` or
 * `src/graph/window.ts`: every output element is computed on its own from the formula
 * (convolution as a sum over channels and taps; its backprops as sums over every output
 * position and tap that touch the element; pooling by scanning the window), and the
 * random values by BigInt arithmetic.
 */
import { Op, type Conv2dParams, type Pool2dParams } from "../../src/ops.js";
import type { Node } from "../../src/graph/node.js";

export interface Plain {
  readonly shape: readonly number[];
  readonly values: readonly number[];
}

const idx4 = (s: readonly number[], a: number, b: number, c: number, d: number): number => ((a * s[1]! + b) * s[2]! + c) * s[3]! + d;

const outLen = (n: number, k: number, s: number, d: number, before: number, after: number): number => Math.floor((n + before + after - ((k - 1) * d + 1)) / s) + 1;

/** The input coordinate a tap reads, or undefined in padding. */
const tap = (o: number, k: number, stride: number, dilation: number, before: number, n: number): number | undefined => {
  const at = o * stride - before + k * dilation;
  return at >= 0 && at < n ? at : undefined;
};

/** conv2d: y[b, o, oy, ox] = Σ_c,i,j x[b, g·Cg + c, ...] · w[o, c, i, j]. */
const conv = (x: Plain, w: Plain, p: Conv2dParams): Plain => {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const OH = outLen(H, KH, p.strides[0]!, p.dilations[0]!, p.pads[0]!, p.pads[1]!);
  const OW = outLen(W, KW, p.strides[1]!, p.dilations[1]!, p.pads[2]!, p.pads[3]!);
  const Og = O / p.groups;
  const shape = [B, O, OH, OW];
  const values: number[] = [];
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = 0;
          const g = Math.floor(o / Og);
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const iy = tap(oy, i, p.strides[0]!, p.dilations[0]!, p.pads[0]!, H);
                const ix = tap(ox, j, p.strides[1]!, p.dilations[1]!, p.pads[2]!, W);
                if (iy !== undefined && ix !== undefined) s += x.values[idx4(x.shape, b, g * Cg + c, iy, ix)]! * w.values[idx4(w.shape, o, c, i, j)]!;
              }
          values.push(s);
        }
  void C;
  return { shape, values };
};

/** dx[b, ch, y, x] = Σ over (o in ch's group, oy, ox, i, j) with tap (oy,i) = y and (ox,j) = x of dy · w. */
const convBackpropInput = (dy: Plain, w: Plain, p: Conv2dParams & { readonly inputSize: readonly number[] }): Plain => {
  const [B, O, OH, OW] = dy.shape as [number, number, number, number];
  const [, Cg, KH, KW] = w.shape as [number, number, number, number];
  const [H, W] = [p.inputSize[0]!, p.inputSize[1]!];
  const Og = O / p.groups;
  const C = Cg * p.groups;
  const values: number[] = [];
  for (let b = 0; b < B; b++)
    for (let ch = 0; ch < C; ch++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          let s = 0;
          const g = Math.floor(ch / Cg);
          for (let o = g * Og; o < (g + 1) * Og; o++)
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++)
                for (let i = 0; i < KH; i++)
                  for (let j = 0; j < KW; j++)
                    if (tap(oy, i, p.strides[0]!, p.dilations[0]!, p.pads[0]!, H) === y && tap(ox, j, p.strides[1]!, p.dilations[1]!, p.pads[2]!, W) === xx)
                      s += dy.values[idx4(dy.shape, b, o, oy, ox)]! * w.values[idx4(w.shape, o, ch - g * Cg, i, j)]!;
          values.push(s);
        }
  return { shape: [B, C, H, W], values };
};

/** dw[o, c, i, j] = Σ_b,oy,ox dy[b, o, oy, ox] · x[b, g·Cg + c, tap]. */
const convBackpropFilter = (x: Plain, dy: Plain, p: Conv2dParams & { readonly kernelSize: readonly number[] }): Plain => {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const [, O, OH, OW] = dy.shape as [number, number, number, number];
  const [KH, KW] = [p.kernelSize[0]!, p.kernelSize[1]!];
  const Cg = C / p.groups;
  const Og = O / p.groups;
  const values: number[] = [];
  for (let o = 0; o < O; o++)
    for (let c = 0; c < Cg; c++)
      for (let i = 0; i < KH; i++)
        for (let j = 0; j < KW; j++) {
          let s = 0;
          const g = Math.floor(o / Og);
          for (let b = 0; b < B; b++)
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++) {
                const iy = tap(oy, i, p.strides[0]!, p.dilations[0]!, p.pads[0]!, H);
                const ix = tap(ox, j, p.strides[1]!, p.dilations[1]!, p.pads[2]!, W);
                if (iy !== undefined && ix !== undefined) s += dy.values[idx4(dy.shape, b, o, oy, ox)]! * x.values[idx4(x.shape, b, g * Cg + c, iy, ix)]!;
              }
          values.push(s);
        }
  return { shape: [O, Cg, KH, KW], values };
};

/** The input elements (flat indices) of window (b, c, oy, ox). */
const windowOf = (s: readonly number[], p: Pool2dParams, b: number, c: number, oy: number, ox: number): number[] => {
  const cells: number[] = [];
  for (let i = 0; i < p.kernel[0]!; i++)
    for (let j = 0; j < p.kernel[1]!; j++) {
      const y = tap(oy, i, p.strides[0]!, 1, p.pads[0]!, s[2]!);
      const x = tap(ox, j, p.strides[1]!, 1, p.pads[2]!, s[3]!);
      if (y !== undefined && x !== undefined) cells.push(idx4(s, b, c, y, x));
    }
  return cells;
};

const pooledShape = (s: readonly number[], p: Pool2dParams): number[] => [
  s[0]!,
  s[1]!,
  outLen(s[2]!, p.kernel[0]!, p.strides[0]!, 1, p.pads[0]!, p.pads[1]!),
  outLen(s[3]!, p.kernel[1]!, p.strides[1]!, 1, p.pads[2]!, p.pads[3]!),
];

/** Visits every window of an input of shape `s` in output order. */
const windows = (s: readonly number[], p: Pool2dParams, f: (cells: number[]) => void): void => {
  const [B, C, OH, OW] = pooledShape(s, p) as [number, number, number, number];
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) f(windowOf(s, p, b, c, oy, ox));
};

/** The window's maxima: the cells holding its largest value. */
const winners = (x: Plain, cells: readonly number[]): number[] => {
  const m = Math.max(...cells.map((i) => x.values[i]!));
  return cells.filter((i) => x.values[i] === m);
};

const pool = (op: Op, xs: readonly Plain[], p: Pool2dParams & { readonly inputSize?: readonly number[] }): Plain => {
  const x = xs[0]!;
  const out: number[] = [];
  switch (op) {
    case Op.MaxPool2d:
      windows(x.shape, p, (cells) => out.push(Math.max(...cells.map((i) => x.values[i]!))));
      return { shape: pooledShape(x.shape, p), values: out };
    case Op.AvgPool2d:
      windows(x.shape, p, (cells) => out.push(cells.reduce((s, i) => s + x.values[i]!, 0) / cells.length));
      return { shape: pooledShape(x.shape, p), values: out };
    case Op.MaxPool2dSelect: {
      const z = xs[1]!;
      windows(x.shape, p, (cells) => {
        const win = winners(x, cells);
        out.push(win.reduce((s, i) => s + z.values[i]!, 0) / win.length);
      });
      return { shape: pooledShape(x.shape, p), values: out };
    }
    case Op.MaxPool2dBackprop: {
      const dy = xs[1]!;
      const acc = new Array<number>(x.values.length).fill(0);
      let k = 0;
      windows(x.shape, p, (cells) => {
        const win = winners(x, cells);
        for (const i of win) acc[i]! += dy.values[k]! / win.length;
        k++;
      });
      return { shape: x.shape, values: acc };
    }
    case Op.AvgPool2dBackprop: {
      const shape = [x.shape[0]!, x.shape[1]!, p.inputSize![0]!, p.inputSize![1]!];
      const acc = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
      let k = 0;
      windows(shape, p, (cells) => {
        for (const i of cells) acc[i]! += x.values[k]! / cells.length;
        k++;
      });
      return { shape, values: acc };
    }
    default:
      throw new Error(`naive pool: ${op}`);
  }
};

/** The random op by BigInt arithmetic modulo 2^26 - 5. */
const randomValues = (key: number, stream: number, count: number): number[] => {
  const P = 67108859n;
  const [C0, C1, C2, C3] = [40503n, 2654435n, 16777619n, 31337n];
  const mod = (v: bigint): bigint => ((v % P) + P) % P;
  const round = (x: bigint, k: bigint): bigint => mod(x * x * x + k);
  const k = round(mod(BigInt(key) + C2), C0);
  const s = round(mod(BigInt(stream) + C3), C1);
  const a = round(mod(k + s), C2);
  const b = round(a, C3);
  return Array.from({ length: count }, (_, n) => Number(round(round(round(mod(BigInt(n) + a), b), a), C3) % 16777216n) / 16777216);
};

/** The naive value of a windowed or random node, or undefined for other ops. */
export const naiveWindowNode = (node: Node, xs: readonly Plain[], concrete: (shape: Node["shape"]) => number[]): Plain | undefined => {
  switch (node.op) {
    case Op.Conv2d:
      return conv(xs[0]!, xs[1]!, node.params);
    case Op.Conv2dBackpropInput:
      return convBackpropInput(xs[0]!, xs[1]!, node.params);
    case Op.Conv2dBackpropFilter:
      return convBackpropFilter(xs[0]!, xs[1]!, node.params);
    case Op.MaxPool2d:
    case Op.MaxPool2dBackprop:
    case Op.MaxPool2dSelect:
    case Op.AvgPool2d:
    case Op.AvgPool2dBackprop:
      return pool(node.op, xs, node.params);
    case Op.RandomUniform: {
      const shape = concrete(node.params.shape);
      return { shape, values: randomValues(xs[0]!.values[0]!, node.params.stream, shape.reduce((a, b) => a * b, 1)) };
    }
    default:
      return undefined;
  }
};
