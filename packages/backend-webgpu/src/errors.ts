import { BackendError } from '@recur/tensor';

/** A problem reported by the WebGPU device or adapter. */
export class WebGpuError extends BackendError {
  override name = 'WebGpuError';
}

/** No WebGPU adapter could be found (no `navigator.gpu`, no driver, or the request failed). */
export class WebGpuUnavailableError extends WebGpuError {
  override name = 'WebGpuUnavailableError';
}

/** The device was lost (driver reset, GPU removed, or `destroy()`); the backend cannot be used again. */
export class DeviceLostError extends WebGpuError {
  override name = 'DeviceLostError';
}

/** The device ran out of memory while allocating buffers or running queued work. */
export class GpuOutOfMemoryError extends WebGpuError {
  override name = 'GpuOutOfMemoryError';
}
