// The parts of the WebAssembly JavaScript API that the wasm backend code uses. Node has all of it; the project
// compiles without the DOM typings that declare it.

/** A WebAssembly.Memory: tfjs-wasm's heap; `buffer` is a SharedArrayBuffer in the threaded build. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** A compiled module (WebAssembly.Module): can be handed to worker threads and instantiated there. */
export type WasmModule = object;

export type WasmExports = Record<string, unknown>;

interface WebAssemblyApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object; module: object }>;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: WasmExports };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  LinkError: new (...args: never[]) => Error;
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
