/**
 * `@recur/tensor/testkit`: the conformance suite every backend runs, ours or a third party's.
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * import { defineConformanceSuite } from '@recur/tensor/testkit';
 * defineConformanceSuite('my-backend', () => new MyBackend(), { describe, it });
 * ```
 */
import * as fc from 'fast-check';
import type { Backend } from '../backend.js';
import type { OpName } from '../ops/table.js';
import { GRAD_CASES, type GradCase } from './grad-cases.js';
import { assertGradients } from './gradcheck.js';
import { trainingLoopMemoryCheck } from './memory.js';
import { primitiveCases } from './primitives.js';

export { GRAD_CASES, type GradCase, type NoGradient } from './grad-cases.js';
export {
  assertGradients,
  checkGradients,
  type GradCheckOptions,
  type GradCheckResult,
  type GradInput,
} from './gradcheck.js';
export { trainingLoopMemoryCheck } from './memory.js';
export { assertClose, type ConformanceCase, primitiveCases } from './primitives.js';

/** The test-runner functions the suite registers with (vitest, jest, node:test, mocha...). */
export interface SuiteHooks {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
}

export interface ConformanceOptions {
  /** Generated cases per op in the gradient properties (default 50). */
  readonly numRuns?: number;
  /** fast-check seed, so failures reproduce (default 42). */
  readonly seed?: number;
  /** Dtype of gradient checks: f64 where the backend has it, else f32 with looser tolerances. */
  readonly gradDtype?: 'f32' | 'f64';
  readonly timeoutMs?: number;
}

/** Gradient-check cases by op, skipping ops that have no gradient. */
export function gradientProperties(): [OpName, fc.Arbitrary<GradCase>][] {
  return (Object.entries(GRAD_CASES) as [OpName, (typeof GRAD_CASES)[OpName]][]).flatMap(([name, c]) =>
    'noGradient' in c ? [] : [[name, c] as [OpName, fc.Arbitrary<GradCase>]],
  );
}

/** Registers the whole conformance suite for a backend with the given test runner. */
export function defineConformanceSuite(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  hooks: SuiteHooks,
  options: ConformanceOptions = {},
): void {
  let backend: Promise<Backend> | null = null;
  const get = (): Promise<Backend> => {
    backend ??= Promise.resolve(makeBackend());
    return backend;
  };
  const timeout = options.timeoutMs ?? 120_000;

  hooks.describe(`${name}: primitives`, () => {
    for (const c of primitiveCases()) hooks.it(c.name, async () => c.run(await get()), timeout);
  });

  hooks.describe(`${name}: op gradients match finite differences`, () => {
    for (const [op, arb] of gradientProperties()) {
      hooks.it(
        op,
        async () => {
          const b = await get();
          const dtype = options.gradDtype ?? (b.capabilities.dtypes.includes('f64') ? 'f64' : 'f32');
          await fc.assert(
            fc.asyncProperty(arb, async (c) => {
              await assertGradients(c.fn, c.inputs, { backend: b, dtype });
            }),
            { numRuns: options.numRuns ?? 50, seed: options.seed ?? 42 },
          );
        },
        timeout,
      );
    }
  });

  hooks.describe(`${name}: memory`, () => {
    hooks.it(
      'a long training loop does not grow memory',
      async () => trainingLoopMemoryCheck(await get()),
      timeout,
    );
  });
}
