import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { BACKEND_METHODS, BackendRegistry } from '../src/registry.js';

const fake = (name: string, spec = 1): Backend =>
  ({
    spec,
    name,
    capabilities: { dtypes: ['f32'], syncRead: false, f16: false, maxBuffersPerKernel: 8, threads: 1 },
    ...Object.fromEntries(BACKEND_METHODS.map((m) => [m, () => undefined])),
  }) as unknown as Backend;

describe('BackendRegistry', () => {
  it('creates backends by name and picks the best available one', async () => {
    const registry = new BackendRegistry()
      .register({ name: 'slow', priority: 0, create: () => fake('slow') })
      .register({ name: 'gpu', priority: 10, create: () => null });
    expect(registry.names()).toEqual(['gpu', 'slow']);
    expect((await registry.best()).name).toBe('slow');
    expect((await registry.create('slow')).name).toBe('slow');
    await expect(registry.create('gpu')).rejects.toThrow(/cannot run on this machine/);
    await expect(registry.create('nope')).rejects.toThrow(/expected one of \[gpu, slow\], found 'nope'/);
  });

  it('refuses duplicates, bad names and other interface versions', async () => {
    const registry = new BackendRegistry().register({ name: 'a', priority: 0, create: () => fake('a', 2) });
    expect(() => registry.register({ name: 'a', priority: 0, create: () => null })).toThrow(
      /already registered/,
    );
    expect(() => registry.register({ name: 'Bad Name', priority: 0, create: () => null })).toThrow(
      /lowercase/,
    );
    await expect(registry.create('a')).rejects.toThrow(/expected interface spec 1, found 2/);
  });
});
