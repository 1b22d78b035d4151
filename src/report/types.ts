// The data a run report is made from. Everything is JSON-able (plain numbers, strings, arrays), so
// an activity can write it to runs/<id>/report-data.json and another process can render it later.
import type { DistanceData, EerData, RocData, TrainingLogEntry } from './plots';

/** A single number, or mean +- standard deviation over splits / folds. */
export type MetricValue = number | { mean: number; std: number };

export interface MetricSet {
  accuracy?: MetricValue;
  precision?: MetricValue;
  /** = TAR at the chosen threshold. */
  recall?: MetricValue;
  f1?: MetricValue;
  auc?: MetricValue;
  eer?: MetricValue;
  /** The distance threshold used for accuracy / precision / recall. */
  threshold?: MetricValue;
  /** TAR at fixed FAR targets, e.g. [{ far: 0.01, tar: 0.61 }]. */
  tarAtFar?: { far: number; tar: MetricValue }[];
  secondsPerEpoch?: MetricValue;
  /** Training throughput. */
  imagesPerSecond?: MetricValue;
}

/** One column of the metrics table: this run, the published reference, the PyTorch yardstick. */
export interface MetricColumn {
  label: string;
  metrics: MetricSet;
  /** What the numbers mean (split, protocol, threshold rule); shown under the table. */
  note?: string;
}

export interface EpochTiming {
  epoch: number;
  seconds: number;
  /** Training images processed in the epoch (for images/s when imagesPerSecond is absent). */
  images?: number;
  imagesPerSecond?: number;
}

export interface TimingData {
  epochs?: EpochTiming[];
  /** Wall time of the whole run: from its first file to its last, pauses included (not the sum of epochs). */
  totalSeconds?: number;
  /** Embedding time of the last evaluation. */
  evaluationSeconds?: number;
  /** Embedding (inference) throughput during evaluation. */
  embeddingImagesPerSecond?: number;
}

export interface TsneReportInput {
  /** N*dim values, row-major. */
  embeddings: number[] | Float32Array;
  dim: number;
  /** Identity of each row. */
  labels: string[];
  seed?: number;
  perplexity?: number;
  /** Above this many points an evenly spaced subset is shown (default 500). */
  maxPoints?: number;
}

export interface RunReportData {
  runId: string;
  /** Defaults to "Run <runId>". */
  title?: string;
  description?: string;
  /** ISO time the report was made; omitted when absent (keeps reports reproducible). */
  generatedAt?: string;
  /** Key facts shown at the top: dataset, backend, parameters, epochs, ... */
  summary?: Record<string, string | number | boolean>;
  /** The resolved run config (shown as YAML). */
  config?: unknown;
  /** This run's test metrics. */
  metrics?: MetricSet;
  /** Column header for this run's metrics (default "This run"). */
  metricsLabel?: string;
  /** Columns to compare against; see referenceColumns(). */
  comparisons?: MetricColumn[];
  trainingLog?: TrainingLogEntry[];
  roc?: RocData;
  eer?: EerData;
  distances?: DistanceData;
  tsne?: TsneReportInput;
  timings?: TimingData;
  /** Free-text remarks (warnings, caveats), one paragraph each. */
  notes?: string[];
}
