// Assembles the SIMD kernels' WebAssembly text with wabt (a dev dependency: the binaries are committed).
import wabtFactory from 'wabt';

export const WAT_PATH = 'src/backend/wasm/simd-kernels.wat';
export const GENERATED_PATH = 'src/backend/wasm/simd-kernels-wasm.ts';

/** The module twice: importing a shared memory (threaded build) and an unshared one; WebAssembly requires the match. */
export async function assembleSimdKernels(wat: string): Promise<{ shared: Uint8Array; unshared: Uint8Array }> {
  const wabt = await wabtFactory();
  const assemble = (limits: string): Uint8Array => {
    const module = wabt.parseWat('simd-kernels.wat', wat.replace('MEMORY_LIMITS', limits), { simd: true, threads: true });
    try {
      return new Uint8Array(module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  };
  return { shared: assemble('65536 shared'), unshared: assemble('') };
}
