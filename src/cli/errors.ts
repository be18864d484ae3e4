/**
 * CLI errors and exit codes: 0 success, 1 a user error (bad model, file or value: the
 * message says what and where), 2 a usage error (unknown command or option: the message
 * is followed by the command's usage), 130 interrupted by SIGINT.
 */

export const EXIT = { ok: 0, userError: 1, usage: 2, interrupted: 130 } as const;

/** A user error: printed as `typegrad: <message>`, exit code 1. */
export class CliError extends Error {
  override readonly name: string = "CliError";
}

/** Wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The command whose usage to print (undefined: the top-level usage). */
    readonly command: string | undefined,
  ) {
    super(message);
  }
}
