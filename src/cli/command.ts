/**
 * What every CLI command is: a name, a one-line summary, its help text, and a run
 * function from arguments to an exit code, writing through `CliIo` (so tests run
 * commands in-process and capture their output).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Stops long commands (train) like SIGINT does. */
  readonly signal?: AbortSignal;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

/** Writes `content` to `file` (creating its folder), or text to stdout when no file is given. */
export const writeOutput = (io: CliIo, file: string | undefined, content: string | Uint8Array): void => {
  if (file === undefined) {
    io.stdout(typeof content === "string" ? (content.endsWith("\n") ? content : `${content}\n`) : Buffer.from(content).toString("base64"));
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  io.stdout(`wrote ${file} (${content.length.toLocaleString("en-US")} ${typeof content === "string" ? "characters" : "bytes"})\n`);
};
