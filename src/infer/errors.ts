// Bad input to inference: a model directory, an image, a gallery or a pairs file that the user must fix.
// Retrying cannot help, so the command line exits with code 2 and prints the message (which names the file).

export class InputError extends Error {
  override readonly name = 'InputError';
  /** The file or folder the problem is about. */
  readonly path: string | undefined;

  constructor(message: string, path?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.path = path;
  }
}
