import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGpuBackend, WebGpuBackendOptions } from '../src/index.js';
import { createNodeWebGpuBackend, type NodeWebGpuOptions, probeNodeWebGpu } from '../src/node.js';

/**
 * The adapter the tests run on: a GPU when there is one, else SwiftShader (Debian's chromium
 * package ships it; `requestNodeGpu` points VK_ICD_FILENAMES at it, so the caller need not).
 * RECUR_WEBGPU_ADAPTER=swiftshader forces SwiftShader, =hardware forbids it. Without any adapter
 * the suites are skipped and the reason is printed.
 */
if (!process.env.XDG_RUNTIME_DIR) {
  // Vulkan's loader complains on every start without one.
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'recur-xdg-'));
}
const wanted = process.env.RECUR_WEBGPU_ADAPTER;
const mode: NodeWebGpuOptions['swiftshader'] =
  wanted === 'swiftshader' ? 'only' : wanted === 'hardware' ? 'never' : 'fallback';

const probe = await probeNodeWebGpu({ swiftshader: mode });

export const gpuAvailable = probe.available;
export const skipReason = probe.available ? '' : probe.reason;

if (!probe.available) {
  console.warn(`[backend-webgpu] skipping the WebGPU tests: ${probe.reason}`);
} else {
  console.info(`[backend-webgpu] WebGPU adapter: ${probe.info.description}`);
}

/** A new backend on its own device, on the tests' adapter. */
export function createBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return createNodeWebGpuBackend({ ...options, swiftshader: mode });
}

let shared: Promise<WebGpuBackend> | null = null;

/** One backend per test file (each file runs in its own process). */
export function backend(): Promise<WebGpuBackend> {
  shared ??= createBackend();
  return shared;
}
