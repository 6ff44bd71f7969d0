/// <reference types="@webgpu/types" preserve="true" />
import { type WebGpuAdapterInfo, WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
import { WebGpuUnavailableError } from './errors.js';

export interface CreateWebGpuOptions extends Omit<WebGpuBackendOptions, 'adapterInfo' | 'ownsDevice'> {
  /** The WebGPU entry point: `navigator.gpu` in browsers (the default), or Dawn's in Node. */
  readonly gpu?: GPU;
  readonly powerPreference?: GPUPowerPreference;
}

/** The limits the backend asks for: the adapter's own, not WebGPU's conservative defaults. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export function adapterInfoOf(adapter: GPUAdapter): WebGpuAdapterInfo {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description =
    info?.description || [vendor, architecture, device].filter(Boolean).join(' ') || 'unknown adapter';
  return { vendor, architecture, device, description };
}

/**
 * Requests an adapter and a device with the adapter's full limits (buffer sizes, storage buffers
 * per stage, workgroup sizes). Throws WebGpuUnavailableError, with the reason, when there is none.
 */
export async function requestWebGpuDevice(
  gpu: GPU,
  powerPreference: GPUPowerPreference = 'high-performance',
): Promise<{ adapter: GPUAdapter; device: GPUDevice; info: WebGpuAdapterInfo }> {
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'webgpu: expected a WebGPU adapter, found none (no GPU driver, or WebGPU disabled). In Node, a CPU adapter is available through SwiftShader: install chromium and libvulkan1 (see the package README).',
    );
  }
  return { adapter, ...(await requestDeviceOn(adapter)) };
}

/** A device on `adapter` with the adapter's full limits. */
export async function requestDeviceOn(
  adapter: GPUAdapter,
): Promise<{ device: GPUDevice; info: WebGpuAdapterInfo }> {
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredLimits });
  return { device, info: adapterInfoOf(adapter) };
}

/**
 * Creates the WebGPU backend on `options.gpu`, or on `navigator.gpu` in a browser. In Node, use
 * `createNodeWebGpuBackend` from `@recur/backend-webgpu/node`, which supplies Dawn's entry point.
 */
export async function createWebGpuBackend(options: CreateWebGpuOptions = {}): Promise<WebGpuBackend> {
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new WebGpuUnavailableError(
      "webgpu: expected navigator.gpu, found none. In a browser, use one with WebGPU enabled; in Node, import { createNodeWebGpuBackend } from '@recur/backend-webgpu/node'.",
    );
  }
  const { device, info } = await requestWebGpuDevice(gpu, options.powerPreference);
  return new WebGpuBackend(device, { ...options, adapterInfo: info, ownsDevice: true });
}

/** Creates the backend on an adapter already chosen (the device gets the adapter's full limits). */
export async function createWebGpuBackendOn(
  adapter: GPUAdapter,
  options: Omit<CreateWebGpuOptions, 'gpu' | 'powerPreference'> = {},
): Promise<WebGpuBackend> {
  const { device, info } = await requestDeviceOn(adapter);
  return new WebGpuBackend(device, { ...options, adapterInfo: info, ownsDevice: true });
}
