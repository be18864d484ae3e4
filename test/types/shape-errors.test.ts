/**
 * Compile-time shape errors: type-checks the fixtures in test/types/fixtures once with
 * the pinned tsc, then checks that
 *   - every `// @expect-error <text>` got an error on the next line whose message
 *     contains <text> (our own message, so an error for another reason does not pass),
 *     starting at `@at <token>` when given (the offending argument);
 *   - no other error occurs anywhere: valid models compile, and a failed op does not
 *     cascade into errors on the lines that use its result.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = path.join(root, "test", "types", "fixtures");

interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: string;
  readonly message: string;
}

interface Expectation {
  readonly file: string;
  /** The line that must carry the error (1-based): the line after the comment. */
  readonly line: number;
  readonly text: string;
  readonly at: string | undefined;
}

const diagnosticLine = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

/** Parses `tsc --pretty false` output; indented lines continue the previous message. */
export const parseDiagnostics = (output: string): Diagnostic[] => {
  const out: Diagnostic[] = [];
  for (const raw of output.split("\n")) {
    const m = diagnosticLine.exec(raw);
    if (m !== null) {
      out.push({ file: path.resolve(root, m[1]!), line: Number(m[2]), column: Number(m[3]), code: m[4]!, message: m[5]! });
    } else if (raw.startsWith(" ") && out.length > 0) {
      const last = out.pop()!;
      out.push({ ...last, message: `${last.message}\n${raw.trim()}` });
    }
  }
  return out;
};

const expectationComment = /^\s*\/\/ @expect-error (.+?)(?: @at (.+))?\s*$/;

const parseExpectations = (file: string): Expectation[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .flatMap((text, i) => {
      const m = expectationComment.exec(text);
      return m === null ? [] : [{ file, line: i + 2, text: m[1]!, at: m[2] }];
    });

const fixtureFiles = readdirSync(fixtures)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => path.join(fixtures, f));
const expectations = fixtureFiles.flatMap(parseExpectations);
const sourceLine = (file: string, line: number): string => readFileSync(file, "utf8").split("\n")[line - 1] ?? "";
const where = (file: string, line: number): string => `${path.relative(root, file)}:${line}`;

let diagnostics: Diagnostic[] = [];
let tscOutput = "";

beforeAll(() => {
  const tsc = path.join(root, "node_modules", ".bin", "tsc");
  const run = spawnSync(tsc, ["-p", path.join(fixtures, "tsconfig.json"), "--pretty", "false"], { cwd: root, encoding: "utf8" });
  if (run.error !== undefined) throw run.error;
  tscOutput = `${run.stdout}${run.stderr}`;
  diagnostics = parseDiagnostics(tscOutput);
}, 120_000);

describe("compile-time shape errors", () => {
  it("runs the type checker on the fixtures and parses its output", () => {
    expect(tscOutput.trim().split("\n").filter((l) => diagnosticLine.test(l)).length).toBe(diagnostics.length);
    expect(diagnostics.length).toBeGreaterThan(0);
  });

  it("has at least 30 distinct deliberate mistakes, each asserting on our own ⛔ message", () => {
    expect(new Set(expectations.map((e) => e.text)).size).toBeGreaterThanOrEqual(30);
    for (const e of expectations) expect(e.text, where(e.file, e.line)).toMatch(/^⛔ \w+: /);
  });

  it("covers every kind of mistake", () => {
    const kinds = [
      "matmul: inner dims differ",
      "add: cannot broadcast",
      "reshape: element count changes",
      "concat: dim",
      "out of range for rank",
      "dtypes differ",
      "exp: needs f32 or f64, got i32",
      "transpose: perm",
      "squeeze: axis 1 of",
      "where: mask must be bool",
      "gather: indices must be i32",
      "slice: range",
      "pad:",
      "flatten:",
      "broadcastTo:",
      "expandDims:",
      "scatterAdd:",
      "oneHot:",
      "assertShape:",
      "repeat an axis",
      "conv2d: channels differ",
      "conv2d: groups",
      "conv2d: kernel",
      "maxPool2d: window",
    ];
    for (const k of kinds) expect(expectations.some((e) => e.text.includes(k)), k).toBe(true);
  });

  it("reports each mistake on its line, with our message, at the offending argument", () => {
    const failures: string[] = [];
    for (const e of expectations) {
      const onLine = diagnostics.filter((d) => d.file === e.file && d.line === e.line);
      const hit = onLine.find((d) => d.message.includes(e.text));
      if (hit === undefined) {
        const got = onLine.length === 0 ? "no error" : onLine.map((d) => d.message.split("\n")[0]).join(" | ");
        failures.push(`${where(e.file, e.line)}: expected "${e.text}", got ${got}`);
        continue;
      }
      if (e.at !== undefined) {
        const from = sourceLine(e.file, e.line).slice(hit.column - 1);
        if (!from.startsWith(e.at)) failures.push(`${where(e.file, e.line)}: error at column ${hit.column} ("${from.slice(0, 20)}"), expected it at "${e.at}"`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("gives no other errors: valid models compile and failed ops do not cascade", () => {
    const expected = new Set(expectations.map((e) => `${e.file}:${e.line}`));
    // Errors elsewhere in the library are `tsc -p .`'s business (npm test runs it first).
    const ours = [fixtures, path.join(root, "src", "types"), path.join(root, "src", "dsl")].map((d) => d + path.sep);
    const unexpected = diagnostics
      .filter((d) => ours.some((dir) => d.file.startsWith(dir)))
      .filter((d) => !expected.has(`${d.file}:${d.line}`))
      .map((d) => `${where(d.file, d.line)}:${d.column} ${d.code} ${d.message.split("\n")[0]}`);
    expect(unexpected).toEqual([]);
    const perLine = new Map<string, number>();
    for (const d of diagnostics) perLine.set(`${d.file}:${d.line}`, (perLine.get(`${d.file}:${d.line}`) ?? 0) + 1);
    expect([...perLine.entries()].filter(([, n]) => n > 1)).toEqual([]);
  });

  it("checks the lines after each mistake use the failed result (so a cascade would show)", () => {
    const unchecked = expectations.filter((e) => {
      const declared = /const (\w+) =/.exec(sourceLine(e.file, e.line))?.[1];
      return declared !== undefined && !sourceLine(e.file, e.line + 1).includes(declared);
    });
    expect(unchecked.map((e) => where(e.file, e.line))).toEqual([]);
  });
});
