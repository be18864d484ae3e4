/** Runs the CLI in-process and captures what it prints. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const cli = async (argv: readonly string[], options: { signal?: AbortSignal; onStdout?: (text: string) => void } = {}): Promise<CliRun> => {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
      options.onStdout?.(t);
    },
    stderr: (t) => void (stderr += t),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { code, stdout, stderr };
};

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "typegrad-cli-"));
