// A gallery of enrolled people: embeddings of their images, made by one exact model (its identity is
// recorded, and a gallery of another model is refused: embeddings of different weights are not comparable).
// Identification compares the probe with every enrolled image and takes the nearest: the threshold was chosen
// for the distance between two single images (verification), so it applies unchanged to the nearest image,
// which a mean embedding's distance would not.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/durable-fs';
import { InputError } from './errors';
import { embedFiles } from './images';
import type { FaceModel } from './model';
import { distanceOf } from './verify';

export const GALLERY_FORMAT = 'facenet-gallery/1';

export interface GalleryImage {
  /** The image path as resolved when enrolled. */
  path: string;
  embedding: number[];
}

export interface Gallery {
  format: typeof GALLERY_FORMAT;
  model: { id: string; dir: string; runId: string | null; epoch: number | null };
  distance: FaceModel['sidecar']['distance'];
  embeddingDim: number;
  people: Record<string, GalleryImage[]>;
}

function emptyGallery(fm: FaceModel): Gallery {
  return {
    format: GALLERY_FORMAT,
    model: { id: fm.id, dir: fm.dir, runId: fm.sidecar.runId, epoch: fm.sidecar.epoch },
    distance: fm.sidecar.distance,
    embeddingDim: fm.embeddingDim,
    people: {},
  };
}

/** Reads a gallery and checks it was made by `fm`; a missing file is an empty gallery only when `create`. */
export async function readGallery(file: string, fm: FaceModel, opts: { create: boolean }): Promise<Gallery> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (opts.create) return emptyGallery(fm);
      throw new InputError(`Gallery ${file} does not exist; enroll people first: facenet enroll <model-dir> --gallery ${file} <person> <images...>`, file, err);
    }
    throw new InputError(`Cannot read the gallery ${file}: ${(err as Error).message}`, file, err);
  }
  let g: Gallery;
  try {
    g = JSON.parse(text) as Gallery;
  } catch (err) {
    throw new InputError(`Gallery ${file} is not valid JSON (${(err as Error).message}).`, file, err);
  }
  if (g?.format !== GALLERY_FORMAT || typeof g.people !== 'object' || g.people === null || typeof g.model?.id !== 'string') {
    throw new InputError(`${file} is not a gallery of this facenet version (expected format "${GALLERY_FORMAT}").`, file);
  }
  if (g.model.id !== fm.id) {
    throw new InputError(
      `Gallery ${file} was enrolled with another model (${g.model.dir}, run ${g.model.runId ?? '?'} epoch ${g.model.epoch ?? '?'}, ` +
        `weights ${g.model.id.slice(0, 12)}), not ${fm.dir} (weights ${fm.id.slice(0, 12)}). Embeddings of different models cannot be compared: ` +
        'use that model, or enroll the people again into a new gallery file.',
      file,
    );
  }
  return g;
}

/** Writes the gallery whole or not at all (temporary file, fsync, rename; the temporary file is removed on error). */
export async function saveGallery(file: string, g: Gallery): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(g, null, 1) + '\n');
}

/**
 * Adds `files` to `person` (an image enrolled again replaces its old embedding) and saves the gallery. Every
 * image is embedded before anything is written, so a bad image leaves the gallery file as it was.
 */
export async function enroll(fm: FaceModel, galleryFile: string, person: string, files: string[]): Promise<{ gallery: Gallery; added: number; notes: Array<{ file: string; note: string }> }> {
  if (!person.trim() || person === '__proto__') {
    throw new InputError(`The person name ${JSON.stringify(person)} cannot be used; give a name, e.g. facenet enroll <model-dir> --gallery g.json alice a1.jpg`);
  }
  if (files.length === 0) throw new InputError(`No images given for ${person}.`);
  const gallery = await readGallery(galleryFile, fm, { create: true });
  const { embeddings, notes } = await embedFiles(fm, files);
  const dim = fm.embeddingDim;
  const existing = Object.hasOwn(gallery.people, person) ? (gallery.people[person] as GalleryImage[]) : [];
  const fresh: GalleryImage[] = files.map((f, i) => ({ path: path.resolve(f), embedding: Array.from(embeddings.subarray(i * dim, (i + 1) * dim)) }));
  const replaced = new Set(fresh.map((g) => g.path));
  gallery.people[person] = [...existing.filter((g) => !replaced.has(g.path)), ...fresh];
  await saveGallery(galleryFile, gallery);
  return { gallery, added: fresh.length, notes };
}

export interface Identification {
  image: string;
  /** The nearest enrolled person when nearer than the threshold, else null (unknown). */
  person: string | null;
  distance: number;
  threshold: number;
  /** Each enrolled person's nearest image, nearest person first. */
  ranking: Array<{ person: string; distance: number; image: string }>;
  notes: Array<{ file: string; note: string }>;
}

export async function identify(fm: FaceModel, galleryFile: string, image: string, threshold: number): Promise<Identification> {
  const gallery = await readGallery(galleryFile, fm, { create: false });
  const names = Object.keys(gallery.people).filter((p) => (gallery.people[p] ?? []).length > 0);
  if (names.length === 0) throw new InputError(`Gallery ${galleryFile} has nobody enrolled yet.`, galleryFile);
  const { embeddings: probe, notes } = await embedFiles(fm, [image]);
  const ranking = names
    .map((person) => {
      let best = { person, distance: Infinity, image: '' };
      for (const g of gallery.people[person] as GalleryImage[]) {
        const d = distanceOf(fm, probe, Float32Array.from(g.embedding));
        if (d < best.distance) best = { person, distance: d, image: g.path };
      }
      return best;
    })
    .sort((x, y) => x.distance - y.distance);
  const nearest = ranking[0] as (typeof ranking)[number];
  return { image, person: nearest.distance < threshold ? nearest.person : null, distance: nearest.distance, threshold, ranking, notes };
}
