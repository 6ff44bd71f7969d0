import type { Backend } from './backend.js';
import { BackendError } from './errors.js';

export interface BackendEntry {
  readonly name: string;
  /** Higher is preferred by `best()`. */
  readonly priority: number;
  /** Creates the backend, or returns null when it cannot run here (e.g. no GPU adapter). */
  readonly create: () => Backend | null | Promise<Backend | null>;
}

/**
 * A registry of backends. It is an ordinary object: create one, register plugins on it, pass it
 * where it is needed. `@recur/recur` exports a ready-made one with Recur's own backends.
 */
export class BackendRegistry {
  private readonly entries = new Map<string, BackendEntry>();

  register(entry: BackendEntry): this {
    if (!/^[a-z][a-z0-9-]*$/.test(entry.name)) {
      throw new BackendError(
        `BackendRegistry.register: expected a lowercase name such as 'js' or 'my-gpu', found ${JSON.stringify(entry.name)}.`,
      );
    }
    if (this.entries.has(entry.name)) {
      throw new BackendError(
        `BackendRegistry.register: a backend named '${entry.name}' is already registered. Pick another name or use a new registry.`,
      );
    }
    this.entries.set(entry.name, entry);
    return this;
  }

  names(): string[] {
    return [...this.entries.values()].sort((a, b) => b.priority - a.priority).map((e) => e.name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Creates the named backend; a clear error when it is unknown or unavailable here. */
  async create(name: string): Promise<Backend> {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new BackendError(
        `BackendRegistry.create: expected one of [${this.names().join(', ')}], found '${name}'. Register the backend first or check its name.`,
      );
    }
    const backend = await entry.create();
    if (!backend) {
      throw new BackendError(
        `BackendRegistry.create: backend '${name}' is registered but cannot run on this machine.`,
      );
    }
    checkBackend(backend);
    return backend;
  }

  /** Creates the highest-priority backend that can run here. */
  async best(): Promise<Backend> {
    const reasons: string[] = [];
    for (const name of this.names()) {
      try {
        const backend = await this.entries.get(name)!.create();
        if (backend) {
          checkBackend(backend);
          return backend;
        }
        reasons.push(`${name}: unavailable`);
      } catch (err) {
        reasons.push(`${name}: ${(err as Error).message}`);
      }
    }
    throw new BackendError(
      `BackendRegistry.best: expected at least one usable backend, found none (${reasons.join('; ') || 'registry is empty'}). Register @recur/backend-js, which runs everywhere.`,
    );
  }
}

/** The methods every Backend must have (readSync is optional, tied to capabilities.syncRead). */
export const BACKEND_METHODS = [
  'alloc',
  'write',
  'read',
  'free',
  'memory',
  'elementwise',
  'matmul',
  'reduce',
  'gather',
  'scatterAdd',
  'copy',
  'sync',
  'dispose',
] as const satisfies readonly (keyof Backend)[];

/** Rejects objects that do not implement the Backend interface version this package speaks. */
export function checkBackend(backend: Backend): void {
  const b = backend as Partial<Backend> & Record<string, unknown>;
  if (b.spec !== 1) {
    throw new BackendError(
      `Backend '${String(b.name)}': expected interface spec 1, found ${JSON.stringify(b.spec)}. Upgrade the backend or @recur/tensor so they agree.`,
    );
  }
  const missing = BACKEND_METHODS.filter((m) => typeof b[m] !== 'function');
  if (missing.length > 0) {
    throw new BackendError(
      `Backend '${String(b.name)}': expected methods [${missing.join(', ')}], found them missing.`,
    );
  }
  if (b.capabilities?.syncRead && typeof b.readSync !== 'function') {
    throw new BackendError(
      `Backend '${String(b.name)}': capabilities.syncRead is true but readSync is not a function.`,
    );
  }
}
