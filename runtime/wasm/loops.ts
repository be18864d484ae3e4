/**
 * Loop and min helpers for hand-written WebAssembly: emit structured loops over i32 locals.
 *
 * Takes a code builder and local indices; guarantees well-nested blocks (each helper
 * closes what it opens), so callers' branch depths stay as if the helper were one
 * instruction, except inside `body`, which sits two blocks deep.
 */
import type { Code } from "./encoder.js";

/**
 * `for (i = start; i < end; i += step) body` with unsigned comparison; `end` is a local.
 * The body sits two blocks deep (block, loop).
 */
export const forLoop = (c: Code, i: number, start: (c: Code) => void, end: number, step: number | ((c: Code) => void), body: (c: Code) => void): void => {
  start(c);
  c.set(i).block().loop();
  c.get(i).get(end).op("i32GeU").brIf(1);
  body(c);
  c.get(i);
  if (typeof step === "number") c.i32(step);
  else step(c);
  c.op("i32Add").set(i).br(0).end().end();
};

/** min(a, b) of two i32 values on the stack ends up in local `into`. */
export const minInto = (c: Code, into: number, a: (c: Code) => void, b: (c: Code) => void): void => {
  a(c);
  b(c);
  a(c);
  b(c);
  c.op("i32LtU").op("select").set(into);
};

