// One error type for everything the dataset layer refuses, so callers (activities) can tell
// bad input (never worth retrying) from a flaky network (worth retrying) without parsing messages.

export interface DatasetErrorOptions {
  /** The file or folder the problem is about, when there is one. */
  path?: string;
  /** True for transient causes (network, server 5xx); false for bad input that a retry cannot fix. */
  retryable?: boolean;
  cause?: unknown;
}

export class DatasetError extends Error {
  readonly path: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: DatasetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DatasetError';
    this.path = options.path;
    this.retryable = options.retryable ?? false;
  }
}

/** The message of anything thrown, for wrapping into a clearer error. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
