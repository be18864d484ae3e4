/**
 * Source locations: which line of the user's code created a node.
 *
 * Takes the current call stack; returns the first frame outside typegrad's own
 * `src/`, `compiler/` and `runtime/` folders, as a path relative to the working
 * directory. Pure apart from reading the stack.
 */
import { fileURLToPath } from "node:url";
import * as path from "node:path";

export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Names of the user's enclosing functions, innermost first (e.g. layer functions). */
  readonly functions?: readonly string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
// here = <root>/src/graph (or <root>/dist/src/graph once built)
const packageRoot = path.resolve(here, "..", "..");
const distRoot = path.basename(packageRoot) === "dist" ? packageRoot : path.join(packageRoot, "dist");
const ownDirs = [packageRoot, distRoot].flatMap((r) =>
  ["src", "compiler", "runtime"].map((d) => path.join(r, d) + path.sep),
);

const isOwn = (file: string): boolean => ownDirs.some((d) => file.startsWith(d)) || file.startsWith("node:") || file.includes(`${path.sep}node_modules${path.sep}`);

const framePattern = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

const toPath = (raw: string): string => (raw.startsWith("file://") ? fileURLToPath(raw) : raw);

/** Parses V8 stack text into (function, file, line, column) frames. */
export const parseStack = (stack: string): { fn: string | undefined; file: string; line: number; column: number }[] =>
  stack
    .split("\n")
    .slice(1)
    .flatMap((l) => {
      const m = framePattern.exec(l);
      if (m === null || m[2] === undefined) return [];
      return [{ fn: m[1], file: toPath(m[2]), line: Number(m[3]), column: Number(m[4]) }];
    });

const userFunctionName = (fn: string | undefined): string | undefined => {
  if (fn === undefined) return undefined;
  const name = fn.replace(/^async /, "").replace(/^Object\./, "").replace(/^new /, "");
  return name === "<anonymous>" || name === "" ? undefined : name;
};

/** The user's source location of the current call, or undefined when there is none. */
export const captureLocation = (): SourceLoc | undefined => {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  Error.captureStackTrace(holder, captureLocation);
  Error.stackTraceLimit = limit;
  return resolveStack(holder.stack ?? "");
};

/**
 * Like `captureLocation`, but the stack is only turned into text (the costly part, with
 * source maps) when a field is first read; most nodes' locations are never read. When no
 * user frame exists the location reads as `<unknown>`, line 0.
 */
export const captureLocationLazily = (): SourceLoc => {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  Error.captureStackTrace(holder, captureLocationLazily);
  Error.stackTraceLimit = limit;
  let resolved: SourceLoc | undefined;
  const get = (): SourceLoc => (resolved ??= resolveStack(holder.stack ?? "") ?? { file: UNKNOWN_FILE, line: 0, column: 0 });
  const loc = {};
  for (const key of ["file", "line", "column", "functions"] as const) {
    Object.defineProperty(loc, key, { enumerable: true, get: () => get()[key] });
  }
  Object.defineProperty(loc, Symbol.for("nodejs.util.inspect.custom"), { value: () => get() });
  return Object.freeze(loc) as SourceLoc;
};

const UNKNOWN_FILE = "<unknown>";

const resolveStack = (stack: string): SourceLoc | undefined => {
  const frames = parseStack(stack).filter((f) => !isOwn(f.file));
  const first = frames[0];
  if (first === undefined) return undefined;
  const rel = path.relative(process.cwd(), first.file);
  const functions = frames
    .slice(0, 8)
    .map((f) => userFunctionName(f.fn))
    .filter((n): n is string => n !== undefined);
  return {
    file: rel.startsWith("..") ? first.file : rel.split(path.sep).join("/"),
    line: first.line,
    column: first.column,
    ...(functions.length > 0 ? { functions } : {}),
  };
};

/** Whether a location names a real place in the user's code. */
export const isKnownLoc = (loc: SourceLoc | undefined): loc is SourceLoc => loc !== undefined && loc.file !== UNKNOWN_FILE;

export const formatLoc = (loc: SourceLoc | undefined): string => (isKnownLoc(loc) ? `${loc.file}:${loc.line}` : UNKNOWN_FILE);
