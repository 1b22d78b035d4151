// HTTP download that never leaves a partial file where a whole one is expected:
// bytes go to <dest>.part (resumed with an HTTP Range request after a dropped connection),
// the SHA-256 is checked, and only then is the file renamed to <dest>.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, errorMessage } from './errors';
import { sha256File } from '../util/durable-fs';

export interface DownloadOptions {
  /** Expected SHA-256 (lowercase hex); a mismatch deletes the download and throws. */
  sha256?: string | undefined;
  /** Attempts after the first one, for dropped connections and 5xx/408/429 answers. Default 4. */
  retries?: number;
  /** First back-off delay, doubled after each failed attempt. Default 1000 ms. */
  backoffMs?: number;
  onProgress?: (doneBytes: number, totalBytes: number | null) => void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One attempt: continues <dest>.part from its current size. Returns when the body has been fully received. */
async function attempt(url: string, part: string, opts: DownloadOptions): Promise<void> {
  const offset = await sizeOf(part);
  let res: Response;
  try {
    res = await fetch(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new DatasetError(`cannot reach ${url}: ${errorMessage(cause ?? err)}`, { retryable: true, cause: err });
  }
  if (res.status === 416) {
    // Our partial file does not fit the server's file (changed upstream?): start again.
    await rm(part, { force: true });
    throw new DatasetError(`${url}: server refused to resume (HTTP 416); restarting from zero`, { retryable: true });
  }
  if (res.status !== 200 && res.status !== 206) {
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    throw new DatasetError(`${url}: HTTP ${res.status} ${res.statusText}`, { retryable });
  }
  let start = 0;
  let total: number | null = null;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      await rm(part, { force: true });
      throw new DatasetError(`${url}: resumed at the wrong offset; restarting from zero`, { retryable: true });
    }
    start = offset;
    total = m[2] === '*' ? null : Number(m[2]);
  } else {
    const len = res.headers.get('content-length');
    total = len === null ? null : Number(len);
  }
  const fh = await open(part, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await fh.write(chunk as Uint8Array);
        done += (chunk as Uint8Array).byteLength;
        opts.onProgress?.(done, total);
      }
    }
  } catch (err) {
    throw new DatasetError(`${url}: connection lost after ${done} bytes: ${errorMessage(err)}`, { retryable: true, cause: err });
  } finally {
    await fh.close();
  }
  if (total !== null && done < total) {
    throw new DatasetError(`${url}: connection closed after ${done} of ${total} bytes`, { retryable: true });
  }
}

/**
 * Downloads `url` to `dest` (atomically: `dest` appears only complete and verified).
 * An existing `dest` is accepted when its checksum matches (or no checksum is given).
 * Retries transient failures with exponential back-off, resuming from the bytes already received.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const expected = opts.sha256?.toLowerCase();
  const existing = await sizeOf(dest);
  if (existing > 0) {
    const got = await sha256File(dest);
    if (expected && got !== expected) {
      throw new DatasetError(
        `${dest} exists but its SHA-256 is ${got}, expected ${expected}; delete it (or fix dataset.source.sha256) and run again`,
        { path: dest },
      );
    }
    return { path: dest, bytes: existing, sha256: got };
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = opts.retries ?? 4;
  const backoff = opts.backoffMs ?? 1000;
  let restartedAfterMismatch = false;
  for (let i = 0; ; i++) {
    const resumedFrom = await sizeOf(part);
    try {
      await attempt(url, part, opts);
    } catch (err) {
      const retryable = err instanceof DatasetError && err.retryable;
      if (!retryable || i >= retries) {
        if (err instanceof DatasetError && !retryable) await rm(part, { force: true });
        const msg = `download of ${url} failed after ${i + 1} attempt(s): ${errorMessage(err)}`;
        throw new DatasetError(msg, { path: dest, retryable, cause: err });
      }
      await sleep(backoff * 2 ** i);
      continue;
    }
    const got = await sha256File(part);
    if (expected && got !== expected) {
      await rm(part, { force: true });
      // A resumed file may mix two versions of the upstream file; one clean retry settles it.
      if (resumedFrom > 0 && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        continue;
      }
      throw new DatasetError(
        `checksum mismatch for ${url}: SHA-256 ${got}, expected ${expected}; the download was deleted (check dataset.source.sha256 or the URL)`,
        { path: dest },
      );
    }
    await rename(part, dest);
    return { path: dest, bytes: await sizeOf(dest), sha256: got };
  }
}
