// Builds README.md from the documentation fragments in docs/, in reading order.
// `node scripts/build-readme.mjs` writes it; `--check` exits 1 when README.md is stale.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ORDER = [
  "intro", "training", "types", "autodiff", "passes", "runtime-kernels", "runtime-program", "fast-backend",
  "models", "data", "checkpoints", "inspect", "deploy", "explain-privacy", "guarantees", "graph-formats", "development",
];

export const buildReadme = () =>
  ORDER.map((name) => join(root, "docs", `${name}.md`))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, "utf8").trim())
    .join("\n\n") + "\n";

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = buildReadme();
  const target = join(root, "README.md");
  if (process.argv.includes("--check")) {
    const current = existsSync(target) ? readFileSync(target, "utf8") : "";
    if (current !== text) {
      console.error("README.md is stale: run `npm run docs:readme`");
      process.exit(1);
    }
  } else writeFileSync(target, text);
}
