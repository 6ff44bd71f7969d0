import type { BackendRegistry } from '@recur/tensor';
import { JsBackend } from './backend.js';

export { JsBackend, JsBuffer } from './backend.js';
export { exprToJs } from './codegen.js';
export { Gemm, type GemmArgs } from './gemm.js';

/** Registers the JS backend on a registry under the name 'js' (lowest priority: it runs everywhere). */
export function registerJsBackend(registry: BackendRegistry): BackendRegistry {
  return registry.register({ name: 'js', priority: 0, create: () => new JsBackend() });
}
