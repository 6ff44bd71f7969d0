/** A mistake in what the user asked for (flags, files, data): printed as one line, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Training was interrupted (Ctrl-C) after a checkpoint was saved: exit code 130, as shells use for SIGINT. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(
    readonly kind: string,
    readonly checkpoint: string,
  ) {
    super(`interrupted: checkpoint saved to ${checkpoint}`);
  }
}
