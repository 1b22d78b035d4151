// The library's errors, by what a caller can do about them. Activities classify by class
// (activities/classify-errors.ts), never by message or name string:
//   BadInputError     a config, dataset or protocol problem the user must fix; retrying cannot help.
//   StorageFullError  ENOSPC / EDQUOT / EROFS while writing a named file; worth a few retries (another
//                     process may free space), then it needs the user.
//   TransientError    network, a server's 5xx, a busy resource: retried with back-off.
// Anything else thrown by the library is a bug or an unforeseen condition (see classify-errors.ts).

export type ErrorKind = 'bad-input' | 'storage-full' | 'transient';

export class FaceNetError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** True when a retry may succeed without the user doing anything. */
  get retryable(): boolean {
    return this.kind !== 'bad-input';
  }
}

/** Bad input: the message names the file or field and what to do. Never retried. */
export class BadInputError extends FaceNetError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, 'bad-input', options);
  }
}

/** A transient failure (network, a busy resource): retried with back-off. */
export class TransientError extends FaceNetError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, 'transient', options);
  }
}

/** The error codes of a full (or read-only) filesystem. */
export const STORAGE_FULL_CODES: readonly string[] = ['ENOSPC', 'EDQUOT', 'EROFS'];

export function isStorageFullCode(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && STORAGE_FULL_CODES.includes(code);
}

/** Writing `path` failed because its filesystem is full or read-only; `freeBytes` is what statfs reported. */
export class StorageFullError extends FaceNetError {
  constructor(
    readonly path: string,
    readonly code: string,
    readonly freeBytes: number | null,
    options: { cause?: unknown } = {},
  ) {
    const free = freeBytes === null ? 'free space unknown' : `${formatBytes(freeBytes)} free`;
    const what = code === 'EROFS' ? 'its filesystem is read-only' : code === 'EDQUOT' ? 'the disk quota is exhausted' : 'no space is left on its device';
    super(
      `Cannot write ${path}: ${what} (${code}; ${free} on that filesystem). ` +
        'Free some space (old runs, caches) or point runsDir / dataset.cacheDir at another disk, then resume the run.',
      'storage-full',
      options,
    );
  }
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** The message of anything thrown, for wrapping into a clearer error. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
