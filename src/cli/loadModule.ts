/**
 * Loading user modules (model modules, example files) for the CLI.
 *
 * Takes a file path; returns the module's exports. JavaScript modules are imported as
 * they are. TypeScript modules (`.ts`, `.mts`, `.cts`, `.tsx`) need a loader on Node 20:
 * when none is active (not running under tsx or vitest), tsx is registered once through
 * its API (`register()` from `tsx/esm/api`) before the first TypeScript import. A missing
 * file, a missing tsx, and errors thrown while the module runs become CliErrors naming
 * the file.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { CliError } from "./errors.js";

const TS_FILE = /\.(c|m)?tsx?$/;
const MARK = Symbol.for("typegrad.tsxRegistered");

/** Whether a TypeScript loader is already active in this process. */
const typeScriptLoaderActive = (): boolean => {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return (
    (globalThis as Record<symbol, unknown>)[MARK] === true ||
    process.env.VITEST !== undefined ||
    flags.some((a) => a === "tsx" || a.startsWith("tsx/") || /[\\/]tsx[\\/]/.test(a))
  );
};

/** Registers tsx's ESM loader once, unless a TypeScript loader is already active. */
export const ensureTypeScriptLoader = async (): Promise<void> => {
  if (typeScriptLoaderActive()) return;
  let api: { register: () => unknown };
  try {
    api = (await import("tsx/esm/api")) as { register: () => unknown };
  } catch {
    throw new CliError("loading a TypeScript module needs tsx: install it (npm install --save-dev tsx) or compile the module to JavaScript");
  }
  api.register();
  (globalThis as Record<symbol, unknown>)[MARK] = true;
};

/**
 * Imports a module file by path (relative to the working directory).
 * @example const mod = await importModuleFile("examples/models/mlp.ts");
 */
export const importModuleFile = async (file: string): Promise<Record<string, unknown>> => {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`cannot find the module file ${file}`);
  if (!statSync(path).isFile()) throw new CliError(`${file} is not a file`);
  if (TS_FILE.test(path)) await ensureTypeScriptLoader();
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof Error && "name" in e && KNOWN_USER_ERRORS.has(e.name)) throw e;
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    throw new CliError(`loading ${file} failed: ${message}`);
  }
};

/** Errors of the library whose message already says what is wrong and where. */
export const KNOWN_USER_ERRORS: ReadonlySet<string> = new Set([
  "ShapeError",
  "ValidationError",
  "GradError",
  "CompileFailure",
  "CheckpointError",
  "OnnxExportError",
  "NonFiniteError",
  "DataError",
  "CliError",
]);
