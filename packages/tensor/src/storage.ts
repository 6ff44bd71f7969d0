import type { Backend, BackendBuffer } from './backend.js';

/**
 * A reference-counted device buffer. Several tensors may share one storage (reshape views, saved
 * values of the autograd graph); the buffer is freed the moment the last reference goes.
 * `version` counts in-place writes, so autograd can refuse to use a saved value that changed.
 */
export class Storage {
  refs = 1;
  version = 0;
  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.backend.free(this.buffer);
  }
}
