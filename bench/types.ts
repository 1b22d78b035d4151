// The shape of results/bench-<date>.json.
import type { CacheResult, PairEvalResult, PreprocessResult } from './data-bench';
import type { BenchShape, ShapeId } from './shapes';
import type { ShapeResult, StepProfile } from './tfjs-bench';
import type { TorchResult } from './torch';
import type { ConvRate } from './conv-ceiling';

export interface Measurement {
  backend: string;
  /** For wasm: the threads of its build in this measurement. */
  wasmThreads?: number;
  shape: ShapeId;
  shapeLabel: string;
  result: ShapeResult | null;
  error?: string;
  /** Peak RSS of the child process that ran only this measurement (kernel maxrss), MiB. */
  processPeakRssMiB?: number;
  /** RSS of that process with the backend loaded, before the model was built, MiB. */
  baselineRssMiB?: number;
  /** tfjs images/s divided by the fastest PyTorch images/s (over --torch-threads), measured in this same run. */
  ratio?: { train: number | null; embed: number | null };
}

export interface TorchSection {
  available: boolean;
  message: string;
  version?: string;
  /** The torch.set_num_threads values tried. */
  threads: number[];
  /** Per shape: every run, and the fastest train/embed result (what the ratios divide by). */
  results: Array<{
    shape: ShapeId;
    runs: Array<{ threads: number; train?: TorchResult; embed?: TorchResult; error?: string }>;
    train?: TorchResult;
    embed?: TorchResult;
  }>;
}

export interface BenchReport {
  date: string;
  command: string;
  machine: {
    cpus: number;
    cpuModel: string;
    totalMemGiB: number;
    node: string;
    tfjs: string;
    platform: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    /** The thread counts wasm was measured with (null: wasm not measured). */
    wasmThreads: number[] | null;
  };
  settings: { warmup: number; steps: number; capSeconds: number; batch: number | 'config'; cpuShapes: string[]; isolated: boolean };
  backends: { measured: string[]; missing: Array<{ backend: string; why: string }> };
  shapes: BenchShape[];
  measurements: Measurement[];
  torch: TorchSection | null;
  data: {
    preprocess: PreprocessResult[];
    cache: CacheResult[];
    cacheLoadPerEpoch: Array<{ dataset: string; backend: string; loadS: number; epochS: number; share: number }>;
    pairEval: PairEvalResult | null;
    errors: string[];
  } | null;
  profile: StepProfile | null;
  /** Single 3x3 convolutions per backend and per PyTorch thread count: the ceiling a whole network can reach. */
  convCeiling: {
    tfjs: Array<{ backend: string; rates?: ConvRate[]; error?: string }>;
    torch: Array<{ threads: number; rates?: ConvRate[]; error?: string }>;
  } | null;
  peakRssMiB: number;
  totalSeconds: number;
  problems: string[];
}
