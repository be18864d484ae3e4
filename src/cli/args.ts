/**
 * Command-line parsing for the CLI, on Node's `util.parseArgs`: unknown options, missing
 * values and wrong positional counts become UsageErrors (exit code 2) naming the command;
 * values are checked (`--epochs 0`, `--dim batch=x`) with messages naming the option.
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";

export type OptionSpec = Readonly<Record<string, { readonly type: "string" | "boolean"; readonly short?: string; readonly multiple?: boolean }>>;

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly positionals: readonly string[];
}

/** Parses `argv` for `command`; `--help`/`-h` is always accepted. */
export const parseCommand = (command: string, argv: readonly string[], options: OptionSpec, positionals: { readonly min: number; readonly max: number }): Parsed => {
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, "") : String(e), command);
  }
  if (parsed.values.help === true) return { values: { help: true }, positionals: [] };
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError(`missing ${positionals.min - n === 1 ? "an argument" : `${positionals.min - n} arguments`}`, command);
  if (n > positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[positionals.max]}'`, command);
  return { values: parsed.values as Parsed["values"], positionals: parsed.positionals };
};

export const stringOption = (p: Parsed, name: string): string | undefined => {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
};

export const flag = (p: Parsed, name: string): boolean => p.values[name] === true;

/** A positive integer option, or undefined when absent. */
export const positiveIntOption = (p: Parsed, name: string, command: string): number | undefined => {
  const raw = stringOption(p, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${raw}'`, command);
  return n;
};

/** A positive finite number option, or undefined when absent. */
export const positiveNumberOption = (p: Parsed, name: string, command: string): number | undefined => {
  const raw = stringOption(p, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${raw}'`, command);
  return n;
};

/** `--dim name=size` (repeatable) as a record. */
export const dimsOption = (p: Parsed, command: string): Record<string, number> => {
  const raw = p.values.dim;
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
  const dims: Record<string, number> = {};
  for (const item of list) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(item);
    if (m === null || Number(m[2]) < 1) throw new UsageError(`--dim takes name=size with a positive integer size (e.g. --dim batch=64), got '${item}'`, command);
    dims[m[1]!] = Number(m[2]);
  }
  return dims;
};

/** A choice among fixed values. */
export const choiceOption = <C extends string>(p: Parsed, name: string, choices: readonly C[], fallback: C, command: string): C => {
  const raw = stringOption(p, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got '${raw}'`, command);
  return raw as C;
};
