/// <reference types="@webgpu/types" preserve="true" />
import { existsSync } from 'node:fs';
import type { WebGpuAdapterInfo, WebGpuBackend } from './backend.js';
import { adapterInfoOf, type CreateWebGpuOptions, createWebGpuBackendOn } from './device.js';
import { WebGpuUnavailableError } from './errors.js';

/**
 * Node entry point: WebGPU through the `webgpu` package (Dawn). Kept apart from the core so that
 * browser bundles never see a Node-only import.
 */

/** Where Debian's chromium package puts SwiftShader's Vulkan driver manifest (a CPU adapter). */
export const SWIFTSHADER_ICD_PATHS: readonly string[] = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** The first SwiftShader ICD manifest present on this machine, or null. */
export function findSwiftShaderIcd(): string | null {
  return SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p)) ?? null;
}

export interface NodeWebGpuOptions extends Omit<CreateWebGpuOptions, 'gpu'> {
  /**
   * SwiftShader (a Vulkan driver on the CPU, slow but exact enough for tests): 'fallback' (default)
   * uses it only when no other adapter is found, 'only' always uses it, 'never' does not.
   */
  readonly swiftshader?: 'fallback' | 'only' | 'never';
  /** Extra Dawn options passed to `create()` (e.g. 'enable-dawn-features=...'). */
  readonly dawn?: readonly string[];
}

type Dawn = { create(options: string[]): GPU };
const keepAlive = new Set<GPU>();

async function loadDawn(): Promise<Dawn> {
  try {
    return (await import('webgpu')) as Dawn;
  } catch (err) {
    throw new WebGpuUnavailableError(
      `webgpu: expected the 'webgpu' package (Dawn for Node), found none (${(err as Error).message}). Install it: npm install webgpu.`,
    );
  }
}

/** A Dawn GPU entry point with an adapter behind it, falling back to SwiftShader as configured. */
export async function requestNodeGpu(
  options: NodeWebGpuOptions = {},
): Promise<{ gpu: GPU; adapter: GPUAdapter; info: WebGpuAdapterInfo; swiftshader: boolean }> {
  const dawn = await loadDawn();
  const mode = options.swiftshader ?? 'fallback';
  const dawnOptions = [...(options.dawn ?? [])];
  const attempt = async (icd: string | null): Promise<{ gpu: GPU; adapter: GPUAdapter | null }> => {
    const saved = process.env.VK_ICD_FILENAMES;
    if (icd) process.env.VK_ICD_FILENAMES = icd;
    try {
      const gpu = dawn.create(dawnOptions);
      const adapter = await gpu.requestAdapter({
        powerPreference: options.powerPreference ?? 'high-performance',
      });
      return { gpu, adapter };
    } finally {
      if (icd) {
        if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
        else process.env.VK_ICD_FILENAMES = saved;
      }
    }
  };
  const icd = findSwiftShaderIcd();
  if (mode !== 'only') {
    const { gpu, adapter } = await attempt(null);
    if (adapter) {
      const info = adapterInfoOf(adapter);
      keepAlive.add(gpu);
      return { gpu, adapter, info, swiftshader: /swiftshader/i.test(info.description + info.architecture) };
    }
    if (mode === 'never') {
      throw new WebGpuUnavailableError(
        'webgpu: expected a WebGPU adapter from Dawn, found none (no Vulkan/Metal/D3D12 GPU driver). Allow the SwiftShader fallback or install a GPU driver.',
      );
    }
  }
  if (!icd) {
    throw new WebGpuUnavailableError(
      `webgpu: expected a WebGPU adapter, found none, and no SwiftShader driver manifest at ${SWIFTSHADER_ICD_PATHS.join(' or ')}. On Debian/Ubuntu: apt-get install -y chromium libvulkan1.`,
    );
  }
  const { gpu, adapter } = await attempt(icd);
  if (!adapter) {
    throw new WebGpuUnavailableError(
      `webgpu: expected a SwiftShader adapter through ${icd}, found none. Check that libvulkan1 is installed (apt-get install -y libvulkan1).`,
    );
  }
  keepAlive.add(gpu);
  return { gpu, adapter, info: adapterInfoOf(adapter), swiftshader: true };
}

/** Creates the WebGPU backend in Node through Dawn (see `requestNodeGpu` for adapter selection). */
export async function createNodeWebGpuBackend(options: NodeWebGpuOptions = {}): Promise<WebGpuBackend> {
  const { adapter } = await requestNodeGpu(options);
  return createWebGpuBackendOn(adapter, options);
}

/** Whether WebGPU runs here, and why not: for tests and tools that skip with a printed reason. */
export async function probeNodeWebGpu(
  options: NodeWebGpuOptions = {},
): Promise<
  { available: true; info: WebGpuAdapterInfo; swiftshader: boolean } | { available: false; reason: string }
> {
  try {
    const { info, swiftshader } = await requestNodeGpu(options);
    return { available: true, info, swiftshader };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}
