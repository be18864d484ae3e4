#!/usr/bin/env node
// The `typegrad` command. In the repository (TypeScript sources present) it runs the
// sources through tsx; in an installed package it runs the compiled JavaScript in dist/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
let entry;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  // Tells the module loader that TypeScript modules can be imported already.
  globalThis[Symbol.for("typegrad.tsxRegistered")] = true;
  entry = source;
} else {
  entry = join(root, "dist", "src", "cli", "main.js");
}
const { main } = await import(pathToFileURL(entry).href);
await main();
