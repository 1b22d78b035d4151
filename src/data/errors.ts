// One error type for everything the dataset layer refuses, so callers (activities) can tell
// bad input (never worth retrying) from a flaky network (worth retrying) without parsing messages.
import { FaceNetError, errorMessage } from '../errors';

export { errorMessage };

export interface DatasetErrorOptions {
  /** The file or folder the problem is about, when there is one. */
  path?: string;
  /** True for transient causes (network, server 5xx); false for bad input that a retry cannot fix. */
  retryable?: boolean;
  cause?: unknown;
}

export class DatasetError extends FaceNetError {
  readonly path: string | undefined;

  constructor(message: string, options: DatasetErrorOptions = {}) {
    super(message, options.retryable ? 'transient' : 'bad-input', { cause: options.cause });
    this.path = options.path;
  }
}
