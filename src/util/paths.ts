// Containment checks for every path the worker reads a config from or writes a run into.
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** The real path of `p` (symlinks resolved) when it exists, else of its nearest existing ancestor plus the rest. */
export function realish(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  for (let cur = abs; ; cur = path.dirname(cur)) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      if (path.dirname(cur) === cur) return abs;
      rest.push(path.basename(cur));
    }
  }
}

/** True when `p` is `root` itself or lies below it, after resolving `..` and symlinks. */
export function insideDir(root: string, p: string): boolean {
  const rel = path.relative(realish(root), realish(p));
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/** True when `p` lies strictly below `root` (not `root` itself). */
export function strictlyInsideDir(root: string, p: string): boolean {
  return insideDir(root, p) && realish(root) !== realish(p);
}
