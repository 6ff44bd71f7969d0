/// <reference types="@webgpu/types" preserve="true" />
import type { BackendRegistry } from '@recur/tensor';
import type { WebGpuBackend } from './backend.js';
import { createWebGpuBackend } from './device.js';

export {
  type WebGpuAdapterInfo,
  WebGpuBackend,
  type WebGpuBackendOptions,
  WebGpuBuffer,
  type WebGpuStats,
} from './backend.js';
export {
  adapterInfoOf,
  type CreateWebGpuOptions,
  createWebGpuBackend,
  createWebGpuBackendOn,
  requestDeviceOn,
  requestWebGpuDevice,
} from './device.js';
export { DeviceLostError, GpuOutOfMemoryError, WebGpuError, WebGpuUnavailableError } from './errors.js';
export { constToWgsl, exprsToWgsl, exprToWgsl } from './wgsl.js';

/**
 * Registers the WebGPU backend under the name 'webgpu' (priority 20: preferred over CPU backends
 * where a GPU is present). Without an adapter its factory throws WebGpuUnavailableError, whose
 * reason `registry.best()` reports before moving on. In Node pass `createNodeWebGpuBackend`.
 */
export function registerWebGpuBackend(
  registry: BackendRegistry,
  create: () => Promise<WebGpuBackend> = () => createWebGpuBackend(),
): BackendRegistry {
  return registry.register({ name: 'webgpu', priority: 20, create });
}
