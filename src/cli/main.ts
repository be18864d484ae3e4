/**
 * The `typegrad` command line: dump, summary, check, train, export.
 *
 * `runCli(argv, io)` runs one command in-process and returns its exit code: 0 success,
 * 1 a user error (a bad model, file or value: the library's message says what and where),
 * 2 a usage error (printed with the command's usage), 130 interrupted. `main()` is what
 * `bin/typegrad.mjs` calls: it runs `runCli` on `process.argv` and sets `process.exitCode`.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CliIo, Command } from "./command.js";
import { CliError, EXIT, UsageError } from "./errors.js";
import { KNOWN_USER_ERRORS } from "./loadModule.js";
import { checkCommand, dumpCommand, summaryCommand } from "./inspectCommands.js";
import { exportCommand, trainCommand } from "./trainCommands.js";

export type { CliIo } from "./command.js";

const COMMANDS: readonly Command[] = [dumpCommand, summaryCommand, checkCommand, trainCommand, exportCommand];

const usage = (): string => `Usage: typegrad <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join("\n")}

Run \`typegrad <command> --help\` for a command's options.
Exit codes: 0 ok, 1 error (the message says what and where), 2 wrong usage, 130 interrupted.
`;

const version = (): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [["..", ".."], ["..", "..", ".."]]) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, ...up, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "typegrad" && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "unknown";
};

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** The message of a thrown value, when it is one the user can act on (else undefined). */
const userMessage = (e: unknown): string | undefined =>
  e instanceof Error && (e instanceof CliError || KNOWN_USER_ERRORS.has(e.name) || e.name === "UnreproducedNonFiniteError") ? e.message : undefined;

/**
 * Runs the CLI on `argv` (without the node and script paths); returns the exit code.
 * @example const code = await runCli(["summary", "examples/models/mnist-mlp.ts"]);
 */
export const runCli = async (argv: readonly string[], io: CliIo = processIo): Promise<number> => {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    (first === undefined ? io.stderr : io.stdout)(usage());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "--version" || first === "-v") {
    io.stdout(`${version()}\n`);
    return EXIT.ok;
  }
  const helpFor = first === "help" ? rest[0] : undefined;
  if (first === "help") {
    const c = COMMANDS.find((x) => x.name === helpFor);
    io.stdout(c === undefined ? usage() : c.help);
    return helpFor === undefined || c !== undefined ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === first);
  try {
    if (command === undefined) throw new UsageError(`unknown command '${first}'`, undefined);
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      const c = COMMANDS.find((x) => x.name === e.command);
      io.stderr(`typegrad${c === undefined ? "" : ` ${c.name}`}: ${e.message}\n\n${c === undefined ? usage() : c.help.split("\n\n")[0]}\nRun \`typegrad ${c === undefined ? "" : `${c.name} `}--help\` for details.\n`);
      return EXIT.usage;
    }
    const message = userMessage(e);
    if (message !== undefined) {
      io.stderr(`typegrad ${first}: ${message}\n`);
      return EXIT.userError;
    }
    // Anything else (an exception in the user's own model code, or a bug): show the stack.
    io.stderr(`typegrad ${first}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.userError;
  }
};

/** Runs the CLI on the process's arguments and sets its exit code. */
export const main = async (): Promise<void> => {
  process.exitCode = await runCli(process.argv.slice(2));
};
