/**
 * Every ```ts block of README.md that imports "typegrad" must type-check against the
 * library; a line followed by a `// ~~~ ⛔ message` comment must fail there with that
 * message (a bare `// ~~~` line: with any of our ⛔ messages), so the README's error
 * examples are real.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(".");
const snippets = [...readFileSync("README.md", "utf8").matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => code.includes('from "typegrad"'));

describe("README snippets", () => {
  it("type-check, with the documented shape errors and no others", () => {
    expect(snippets.length).toBeGreaterThan(3);
    // Inside node_modules so the snippets resolve the project's dependencies.
    mkdirSync(join(root, "node_modules/.cache"), { recursive: true });
    const dir = mkdtempSync(join(root, "node_modules/.cache/tg-readme-"));
    try {
      const expected: { file: string; line: number; message: string }[] = [];
      snippets.forEach((code, i) => {
        const file = `snippet${i}.ts`;
        const lines = code.split("\n");
        lines.forEach((l, k) => {
          const m = /^\s*\/\/\s*~+\s*(⛔ .*)?$/.exec(l);
          if (m !== null && k > 0) expected.push({ file, line: k, message: m[1]?.trim() ?? "⛔" });
        });
        writeFileSync(join(dir, file), `${code}\nexport {};\n`);
      });
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
            skipLibCheck: true, types: ["node"], typeRoots: [join(root, "node_modules/@types")],
            paths: { typegrad: [join(root, "src/index.ts")] },
          },
          include: ["*.ts"],
        }),
      );
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      let output = "";
      try {
        execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", dir], { encoding: "utf8" });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      const errors = [...output.matchAll(/(snippet\d+\.ts)\((\d+),\d+\): error TS\d+: ([^\n]*)/g)].map((m) => ({
        file: m[1]!, line: Number(m[2]), text: m[3]!,
      }));
      for (const want of expected) {
        expect(errors.some((e) => e.file === want.file && e.line === want.line && e.text.includes(want.message)), `${want.file}:${want.line} ${want.message}\n${output}`).toBe(true);
      }
      const unexpected = errors.filter((e) => !expected.some((w) => w.file === e.file && w.line === e.line));
      expect(unexpected, output).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
