// Mean and standard deviation for fold summaries.

export interface MeanStd {
  mean: number;
  /** Population standard deviation (divide by n), as numpy.std in facenet's LFW evaluation. */
  std: number;
}

export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) throw new Error('meanStd: no values; pass at least one');
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) * (v - mean), 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}
