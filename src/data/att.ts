// AT&T (ORL) faces: <root>/s1..s40/1..10.pgm. Other files (the README) are ignored.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from './errors';
import type { DatasetIndex, IndexEntry } from './dataset-index';

const SUBJECT = /^s(\d+)$/;
const IMAGE = /^(\d+)\.pgm$/i;

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Lists the AT&T images under `root`, subjects in numeric order (s1, s2, ..., s40), images by number. */
export async function indexAtt(root: string): Promise<DatasetIndex> {
  if (!(await isDir(root))) {
    throw new DatasetError(
      `AT&T dataset folder ${root} does not exist; set dataset.source.dir to the folder that holds s1..s40`,
      { path: root },
    );
  }
  const subjects = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && SUBJECT.test(d.name))
    .map((d) => d.name)
    .sort((a, b) => Number(SUBJECT.exec(a)?.[1]) - Number(SUBJECT.exec(b)?.[1]));
  if (subjects.length === 0) {
    throw new DatasetError(
      `${root} holds no subject folders s1..s40; point dataset.source.dir at the folder that contains them`,
      { path: root },
    );
  }
  const entries: IndexEntry[] = [];
  for (const [label, subject] of subjects.entries()) {
    const dir = path.join(root, subject);
    const files = (await readdir(dir)).filter((f) => IMAGE.test(f));
    files.sort((a, b) => Number(IMAGE.exec(a)?.[1]) - Number(IMAGE.exec(b)?.[1]));
    if (files.length === 0) throw new DatasetError(`${dir} holds no N.pgm images`, { path: dir });
    for (const f of files) {
      const size = (await stat(path.join(dir, f))).size;
      entries.push({ relPath: `${subject}/${f}`, label, size });
    }
  }
  return { root, identities: subjects, entries, extraFiles: [] };
}
