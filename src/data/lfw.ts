// LFW (deep-funneled): <root>/lfw-deepfunneled/Name/Name_NNNN.jpg plus the protocol files in <root>.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from './errors';
import type { DatasetIndex, IndexEntry } from './dataset-index';
import { LFW_IMAGE_DIR, LFW_PROTOCOL_FILES, protocolImagePaths } from './lfw-protocol';

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

/**
 * Lists every LFW image (people sorted by name, images by name), reads the six protocol files and
 * checks that every image they name exists. Throws a DatasetError listing what is missing.
 */
export async function indexLfw(root: string): Promise<DatasetIndex> {
  const imageDir = path.join(root, LFW_IMAGE_DIR);
  if (!(await statOrNull(imageDir))?.isDirectory()) {
    throw new DatasetError(
      `LFW image folder ${imageDir} does not exist; set dataset.source.dir to the folder that holds ${LFW_IMAGE_DIR}/ and the protocol files (pairs.txt, people.txt, ...)`,
      { path: imageDir },
    );
  }
  const missingProtocol: string[] = [];
  const extraFiles: DatasetIndex['extraFiles'] = [];
  for (const f of LFW_PROTOCOL_FILES) {
    const st = await statOrNull(path.join(root, f));
    if (!st?.isFile()) missingProtocol.push(f);
    else extraFiles.push({ relPath: f, size: st.size });
  }
  if (missingProtocol.length > 0) {
    throw new DatasetError(
      `LFW protocol files missing from ${root}: ${missingProtocol.join(', ')}; put them there (they are published beside the image archive)`,
      { path: root },
    );
  }

  const people = (await readdir(imageDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (people.length === 0) throw new DatasetError(`${imageDir} holds no person folders`, { path: imageDir });
  const entries: IndexEntry[] = [];
  for (const [label, name] of people.entries()) {
    const files = (await readdir(path.join(imageDir, name))).filter((f) => f.toLowerCase().endsWith('.jpg')).sort();
    for (const f of files) {
      const size = (await stat(path.join(imageDir, name, f))).size;
      entries.push({ relPath: `${LFW_IMAGE_DIR}/${name}/${f}`, label, size });
    }
  }

  const present = new Set(entries.map((e) => e.relPath));
  const problems: string[] = [];
  for (const f of LFW_PROTOCOL_FILES) {
    const text = await readFile(path.join(root, f), 'utf8');
    const missing = [...new Set(protocolImagePaths(f, text).filter((p) => !present.has(p)))];
    if (missing.length > 0) {
      const shown = missing.slice(0, 5).join(', ');
      problems.push(`${f} names ${missing.length} missing image(s): ${shown}${missing.length > 5 ? ', ...' : ''}`);
    }
  }
  if (problems.length > 0) {
    throw new DatasetError(`LFW at ${root} is incomplete: ${problems.join('; ')}`, { path: root });
  }
  return { root, identities: people, entries, extraFiles };
}
