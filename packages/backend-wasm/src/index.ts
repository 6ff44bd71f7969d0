import type { BackendRegistry } from '@recur/tensor';
import { WasmBackend, type WasmBackendOptions } from './backend.js';

export {
  type ThreadingInfo,
  type ThreadStats,
  WasmBackend,
  type WasmBackendOptions,
  WasmBuffer,
} from './backend.js';
export { DEFAULT_GEMM, type GemmShape } from './gemm.js';

/**
 * Registers the wasm backend on a registry under the name 'wasm', preferred over 'js' (priority
 * 10): it runs wherever WebAssembly SIMD does, with threads where shared memory is allowed.
 */
export function registerWasmBackend(
  registry: BackendRegistry,
  options: WasmBackendOptions = {},
): BackendRegistry {
  return registry.register({
    name: 'wasm',
    priority: 10,
    create: async () => {
      if (typeof WebAssembly === 'undefined') return null;
      return WasmBackend.create(options);
    },
  });
}
