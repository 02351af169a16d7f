/** Wrong usage: message on stderr, exit code 2. */
export class UsageError extends Error {
  /** The command whose usage was wrong, for the "see --help" hint. */
  constructor(
    message: string,
    readonly commandPath: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A failure the user can act on (unreadable file, agent said no): one line, exit code 1. */
export class CliError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
