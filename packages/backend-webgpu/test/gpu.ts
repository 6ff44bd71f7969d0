import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGpuBackend } from '../src/index.js';
import { createNodeWebGpuBackend, findSwiftShaderIcd, probeNodeWebGpu } from '../src/node.js';

/**
 * The adapter the tests run on: a GPU when there is one, else SwiftShader (Debian's chromium
 * package ships it). VK_ICD_FILENAMES is set here, not by the caller, because test runners do not
 * pass arbitrary environment variables through. Without any adapter the suites are skipped with
 * the reason printed.
 */
if (!process.env.XDG_RUNTIME_DIR) {
  // Vulkan's loader complains on every start without one.
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'recur-xdg-'));
}
const forced = process.env.RECUR_WEBGPU_ADAPTER;
if (forced === 'swiftshader' && !process.env.VK_ICD_FILENAMES) {
  const icd = findSwiftShaderIcd();
  if (icd) process.env.VK_ICD_FILENAMES = icd;
}

const probe = await probeNodeWebGpu();

export const gpuAvailable = probe.available;
export const skipReason = probe.available ? '' : probe.reason;
export const adapterName = probe.available ? probe.info.description : 'none';

if (!probe.available) {
  console.warn(`[backend-webgpu] skipping WebGPU tests: ${probe.reason}`);
} else {
  console.info(`[backend-webgpu] WebGPU adapter: ${probe.info.description}`);
}

let shared: Promise<WebGpuBackend> | null = null;

/** One backend per test file (each file runs in its own process). */
export function backend(): Promise<WebGpuBackend> {
  shared ??= createNodeWebGpuBackend();
  return shared;
}
