// Bad input to inference: a model directory, an image, a gallery or a pairs file that the user must fix.
// One of the library's BadInputErrors (src/errors.ts): retrying cannot help, so the command line exits with
// code 2 and prints the message (which names the file).
import { BadInputError } from '../errors';

export class InputError extends BadInputError {
  /** The file or folder the problem is about. */
  readonly path: string | undefined;

  constructor(message: string, path?: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.path = path;
  }
}
