// What a dataset folder holds, in a fixed order: the list every later step (cache, labels,
// splits) refers to by position. Its content fingerprint is computed in fingerprint.ts.

export interface IndexEntry {
  /** Path relative to the dataset root, '/'-separated. */
  relPath: string;
  /** Position of the identity in DatasetIndex.identities. */
  label: number;
  size: number;
}

export interface DatasetIndex {
  /** Absolute dataset root (AT&T: holds s1..s40; LFW: holds lfw-deepfunneled/ and the protocol files). */
  root: string;
  identities: string[];
  entries: IndexEntry[];
  /** Non-image files that also define the dataset (LFW protocol files), relative to root. */
  extraFiles: Array<{ relPath: string; size: number }>;
}

/** Keeps the first `max` identities (in index order) and their images; null keeps all. */
export function limitIdentities(index: DatasetIndex, max: number | null): DatasetIndex {
  if (max === null || max >= index.identities.length) return index;
  return {
    ...index,
    identities: index.identities.slice(0, max),
    entries: index.entries.filter((e) => e.label < max),
  };
}
