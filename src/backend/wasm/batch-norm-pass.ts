// One pass of the wasm BatchNorm kernels over the activations, as a job: what batch-norm-passes.ts (JavaScript,
// split over threads) and batch-norm-simd.ts (SIMD) both run. Its own file so neither of the two imports the other's types.

/** The passes, by index (the order of PASSES_SOURCE in batch-norm-passes.ts and SIMD_PASSES in batch-norm-simd.ts). */
export const PassOp = { Sum: 0, SquaredDeviation: 1, Affine: 2, GradientSums: 3, InputGradient: 4 } as const;
export type PassOp = (typeof PassOp)[keyof typeof PassOp];

export interface PassJob {
  op: PassOp;
  /** Element offsets into the heap (float32 index): x, and y (or dy), and dx for InputGradient. */
  x: number;
  y?: number;
  dx?: number;
  channels: number;
  rows: number;
  inputs?: Float64Array[];
  /** Per-channel sums, added to (zeroed by the caller). */
  outputs?: Float64Array[];
}
