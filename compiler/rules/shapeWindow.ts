/**
 * Runtime shape and dtype rules of the windowed ops (conv2d and its two backprop ops,
 * max/avg pooling and their backprop ops) and of the counter-based random op.
 *
 * Takes the inputs' shapes/dtypes and the op's params (geometry in `src/graph/window.ts`);
 * returns the output shape and dtype or a message naming the user's shapes. Layout is
 * NCHW for activations and OIHW for weights. The batch dim may be symbolic; channels and
 * spatial dims must be concrete (the window arithmetic needs them).
 */
import * as E from "fp-ts/lib/Either.js";
import { isFloat, type Conv2dParams, type DType, type Pool2dParams, type RuntimeDim, type RuntimeShape } from "../../src/ops.js";
import { formatShape } from "../../src/graph/shapes.js";
import { convParamsProblem, convWindow, poolParamsProblem, poolWindow, windowOutput, type Window2d } from "../../src/graph/window.js";
import type { ArgInfo } from "./shape.js";

type Rule<P> = (inputs: readonly ArgInfo[], params: P) => E.Either<string, ArgInfo>;

const fail = (msg: string): E.Either<string, ArgInfo> => E.left(msg);

const arity = (inputs: readonly ArgInfo[], n: number): string | undefined =>
  inputs.length === n ? undefined : `expects ${n} input${n === 1 ? "" : "s"}, got ${inputs.length}`;

/** [batch, channels, height, width] of an NCHW activation, or a message. */
const nchw = (x: ArgInfo, role: string): E.Either<string, { b: RuntimeDim; c: number; h: number; w: number }> => {
  if (!isFloat(x.dtype)) return E.left(`needs f32 or f64, got ${x.dtype} ${formatShape(x.shape)} (${role})`);
  if (x.shape.length !== 4) return E.left(`${role} must be NCHW [batch, channels, height, width], got ${formatShape(x.shape)}`);
  const [b, c, h, w] = x.shape as [RuntimeDim, RuntimeDim, RuntimeDim, RuntimeDim];
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number")
    return E.left(`${role} ${formatShape(x.shape)} must have concrete channels, height and width (only the batch dim may be symbolic)`);
  return E.right({ b, c, h, w });
};

/** [out, in/groups, kh, kw] of OIHW weights, or a message. */
const oihw = (w: ArgInfo): E.Either<string, { o: number; ci: number; kh: number; kw: number }> => {
  if (w.shape.length !== 4) return E.left(`weights must be OIHW [out channels, in channels / groups, kernel height, kernel width], got ${formatShape(w.shape)}`);
  if (!w.shape.every((d): d is number => typeof d === "number")) return E.left(`weights ${formatShape(w.shape)} must have concrete dims`);
  const [o, ci, kh, kw] = w.shape as [number, number, number, number];
  if (kh < 1 || kw < 1) return E.left(`kernel ${kh}x${kw} (weights ${formatShape(w.shape)}) must be at least 1x1`);
  return E.right({ o, ci, kh, kw });
};

const sameDtype = (a: ArgInfo, b: ArgInfo, la: string, lb: string): string | undefined =>
  a.dtype === b.dtype ? undefined : `dtypes differ: ${a.dtype} (${la} ${formatShape(a.shape)}) vs ${b.dtype} (${lb} ${formatShape(b.shape)})`;

/** The spatial output size, or a message when the (dilated) window is larger than the padded input. */
const outputOf = (win: Window2d, h: number, w: number, input: RuntimeShape, kernelWhat: string): E.Either<string, [number, number]> => {
  const [oh, ow] = windowOutput(win, h, w);
  if (oh > 0 && ow > 0) return E.right([oh, ow]);
  const [eh, ew] = [(win.kh - 1) * win.dh + 1, (win.kw - 1) * win.dw + 1];
  return E.left(
    `${kernelWhat} ${eh}x${ew} is larger than the padded input ${h + win.pt + win.pb}x${w + win.pl + win.pr} (${formatShape(input)} with pads ${JSON.stringify([win.pt, win.pb, win.pl, win.pr])})`,
  );
};

const kernelText = (win: Window2d): string => (win.dh === 1 && win.dw === 1 ? "kernel" : "dilated kernel");

/** Checks channels and groups: `c` input channels, weights [o, ci, ...]. */
const channelProblem = (c: number, o: number, ci: number, groups: number, xs: RuntimeShape, ws: RuntimeShape, xRole: string): string | undefined => {
  if (c % groups !== 0) return `groups ${groups} does not divide the ${c} input channels (${xRole} ${formatShape(xs)})`;
  if (o % groups !== 0) return `groups ${groups} does not divide the ${o} output channels (weights ${formatShape(ws)})`;
  if (ci * groups !== c)
    return `channels differ: ${xRole} ${formatShape(xs)} has ${c} channels, the weights ${formatShape(ws)} take ${ci}${groups === 1 ? "" : ` per group x ${groups} groups = ${ci * groups}`}`;
  return undefined;
};

const ok = (shape: RuntimeShape, dtype: DType): E.Either<string, ArgInfo> => E.right({ shape, dtype });

/** conv2d(x [B, C, H, W], w [O, C/groups, kh, kw]) -> [B, O, OH, OW]. */
export const conv2dShape: Rule<Conv2dParams> = (inputs, p) => {
  const a = arity(inputs, 2) ?? convParamsProblem(p);
  if (a !== undefined) return fail(a);
  const [x, w] = [inputs[0]!, inputs[1]!];
  const dt = sameDtype(x, w, "input", "weights");
  if (dt !== undefined) return fail(dt);
  const xi = nchw(x, "input");
  if (E.isLeft(xi)) return xi;
  const wi = oihw(w);
  if (E.isLeft(wi)) return wi;
  const { b, c, h, w: wd } = xi.right;
  const { o, ci, kh, kw } = wi.right;
  const ch = channelProblem(c, o, ci, p.groups, x.shape, w.shape, "input");
  if (ch !== undefined) return fail(ch);
  const win = convWindow(p, kh, kw);
  return E.map(([oh, ow]: [number, number]): ArgInfo => ({ shape: [b, o, oh, ow], dtype: x.dtype }))(outputOf(win, h, wd, x.shape, kernelText(win)));
};

const sizePair = (v: readonly number[], what: string): string | undefined =>
  v.length === 2 && v.every((d) => Number.isSafeInteger(d) && d >= 1) ? undefined : `${what} must be two positive integers [height, width], got ${JSON.stringify(v)}`;

/** Checks that the gradient `g` has the shape the forward window gives for an input of [h, w]. */
const gradientMatches = (g: ArgInfo, b: RuntimeDim, ch: number, win: Window2d, h: number, w: number, role: string): E.Either<string, true> => {
  const out = outputOf(win, h, w, [b, ch, h, w], kernelText(win));
  if (E.isLeft(out)) return out;
  const want = [b, ch, ...out.right];
  return g.shape.length === 4 && want.every((d, i) => d === g.shape[i])
    ? E.right(true)
    : E.left(`${role} ${formatShape(g.shape)} does not match the forward output ${formatShape(want)} for an input of ${h}x${w}`);
};

/** conv2dBackpropInput(dy [B, O, OH, OW], w [O, C/groups, kh, kw]) -> dx [B, C, H, W] (H, W from params). */
export const conv2dBackpropInputShape: Rule<Conv2dParams & { readonly inputSize: readonly number[] }> = (inputs, p) => {
  const a = arity(inputs, 2) ?? convParamsProblem(p) ?? sizePair(p.inputSize, "inputSize");
  if (a !== undefined) return fail(a);
  const [dy, w] = [inputs[0]!, inputs[1]!];
  const dt = sameDtype(dy, w, "output gradient", "weights");
  if (dt !== undefined) return fail(dt);
  const gi = nchw(dy, "output gradient");
  if (E.isLeft(gi)) return gi;
  const wi = oihw(w);
  if (E.isLeft(wi)) return wi;
  const { o, ci, kh, kw } = wi.right;
  if (o % p.groups !== 0) return fail(`groups ${p.groups} does not divide the ${o} output channels (weights ${formatShape(w.shape)})`);
  const [h, wd] = [p.inputSize[0]!, p.inputSize[1]!];
  const m = gradientMatches(dy, gi.right.b, o, convWindow(p, kh, kw), h, wd, "output gradient");
  return E.isLeft(m) ? m : ok([gi.right.b, ci * p.groups, h, wd], dy.dtype);
};

/** conv2dBackpropFilter(x [B, C, H, W], dy [B, O, OH, OW]) -> dw [O, C/groups, kh, kw] (kh, kw from params). */
export const conv2dBackpropFilterShape: Rule<Conv2dParams & { readonly kernelSize: readonly number[] }> = (inputs, p) => {
  const a = arity(inputs, 2) ?? convParamsProblem(p) ?? sizePair(p.kernelSize, "kernelSize");
  if (a !== undefined) return fail(a);
  const [x, dy] = [inputs[0]!, inputs[1]!];
  const dt = sameDtype(x, dy, "input", "output gradient");
  if (dt !== undefined) return fail(dt);
  const xi = nchw(x, "input");
  if (E.isLeft(xi)) return xi;
  const gi = nchw(dy, "output gradient");
  if (E.isLeft(gi)) return gi;
  const { c, h, w } = xi.right;
  const o = gi.right.c;
  if (c % p.groups !== 0) return fail(`groups ${p.groups} does not divide the ${c} input channels (input ${formatShape(x.shape)})`);
  if (o % p.groups !== 0) return fail(`groups ${p.groups} does not divide the ${o} output channels (output gradient ${formatShape(dy.shape)})`);
  const [kh, kw] = [p.kernelSize[0]!, p.kernelSize[1]!];
  const m = gradientMatches(dy, xi.right.b, o, convWindow(p, kh, kw), h, w, "output gradient");
  return E.isLeft(m) ? m : ok([o, c / p.groups, kh, kw], x.dtype);
};

/** Pooled shape of x [B, C, H, W]. */
const pooled = (x: ArgInfo, p: Pool2dParams, role = "input"): E.Either<string, ArgInfo> => {
  const bad = poolParamsProblem(p);
  if (bad !== undefined) return fail(bad);
  const xi = nchw(x, role);
  if (E.isLeft(xi)) return xi;
  const { b, c, h, w } = xi.right;
  return E.map(([oh, ow]: [number, number]): ArgInfo => ({ shape: [b, c, oh, ow], dtype: x.dtype }))(outputOf(poolWindow(p), h, w, x.shape, "window"));
};

/** maxPool2d / avgPool2d: x [B, C, H, W] -> [B, C, OH, OW]. */
export const pool2dShape: Rule<Pool2dParams> = (inputs, p) => {
  const a = arity(inputs, 1);
  return a !== undefined ? fail(a) : pooled(inputs[0]!, p);
};

/** Two same-dtype operands where the second has `want`'s shape. */
const secondOperand = (x: ArgInfo, y: ArgInfo, want: RuntimeShape, role: string): string | undefined => {
  const dt = sameDtype(x, y, "input", role);
  if (dt !== undefined) return dt;
  return y.shape.length === want.length && want.every((d, i) => d === y.shape[i]) ? undefined : `${role} ${formatShape(y.shape)} must have shape ${formatShape(want)}`;
};

/** maxPool2dBackprop(x [B, C, H, W], dy [B, C, OH, OW]) -> dx, shaped like x. */
export const maxPool2dBackpropShape: Rule<Pool2dParams> = (inputs, p) => {
  const a = arity(inputs, 2);
  if (a !== undefined) return fail(a);
  const [x, dy] = [inputs[0]!, inputs[1]!];
  const out = pooled(x, p);
  if (E.isLeft(out)) return out;
  const bad = secondOperand(x, dy, out.right.shape, "output gradient");
  return bad === undefined ? ok(x.shape, x.dtype) : fail(bad);
};

/** maxPool2dSelect(x [B, C, H, W], z shaped like x) -> [B, C, OH, OW]. */
export const maxPool2dSelectShape: Rule<Pool2dParams> = (inputs, p) => {
  const a = arity(inputs, 2);
  if (a !== undefined) return fail(a);
  const [x, z] = [inputs[0]!, inputs[1]!];
  const out = pooled(x, p);
  if (E.isLeft(out)) return out;
  const bad = secondOperand(x, z, x.shape, "selected values");
  return bad === undefined ? out : fail(bad);
};

/** avgPool2dBackprop(dy [B, C, OH, OW]) -> dx [B, C, H, W] (H, W from params). */
export const avgPool2dBackpropShape: Rule<Pool2dParams & { readonly inputSize: readonly number[] }> = (inputs, p) => {
  const a = arity(inputs, 1) ?? poolParamsProblem(p) ?? sizePair(p.inputSize, "inputSize");
  if (a !== undefined) return fail(a);
  const dy = inputs[0]!;
  const gi = nchw(dy, "output gradient");
  if (E.isLeft(gi)) return gi;
  const [h, w] = [p.inputSize[0]!, p.inputSize[1]!];
  const m = gradientMatches(dy, gi.right.b, gi.right.c, poolWindow(p), h, w, "output gradient");
  return E.isLeft(m) ? m : ok([gi.right.b, gi.right.c, h, w], dy.dtype);
};

const wellFormedDim = (d: RuntimeDim): boolean =>
  typeof d === "number" ? Number.isSafeInteger(d) && d >= 0 : /^[A-Za-z_][A-Za-z0-9_]*$/.test(d);

/** randomUniform(key: i32 []) -> the params' shape and float dtype. */
export const randomUniformShape: Rule<{ readonly shape: RuntimeShape; readonly dtype: DType; readonly stream: number }> = (inputs, p) => {
  const a = arity(inputs, 1);
  if (a !== undefined) return fail(a);
  const key = inputs[0]!;
  if (key.dtype !== "i32" || key.shape.length !== 0) return fail(`key must be an i32 scalar, got ${key.dtype} ${formatShape(key.shape)}`);
  if (!isFloat(p.dtype)) return fail(`values must be f32 or f64, got ${p.dtype}`);
  if (!Number.isSafeInteger(p.stream) || Math.abs(p.stream) > 2147483647) return fail(`stream must be a 32-bit integer, got ${p.stream}`);
  const bad = p.shape.findIndex((d) => !wellFormedDim(d));
  if (bad >= 0) return fail(`dim ${bad} of ${formatShape(p.shape)} is ${JSON.stringify(p.shape[bad])}: dims are non-negative integers or symbolic names`);
  return ok(p.shape, p.dtype);
};
