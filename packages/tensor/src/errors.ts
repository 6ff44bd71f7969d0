/**
 * Errors thrown by Recur. Each message says what was expected, what was found, and how to fix it.
 */
export class RecurError extends Error {
  override name = 'RecurError';
}

/** A shape or broadcasting mismatch, raised by an op's shape rule before any work runs. */
export class ShapeError extends RecurError {
  override name = 'ShapeError';
}

/** An operand of a dtype that the op does not accept. */
export class DTypeError extends RecurError {
  override name = 'DTypeError';
}

/** A tensor was used after `dispose()` (directly, or by the end of a `tidy` scope). */
export class DisposedError extends RecurError {
  override name = 'DisposedError';
}

/** Backend selection, capability or registry problems. */
export class BackendError extends RecurError {
  override name = 'BackendError';
}

/** Autograd misuse: backward on a non-scalar, a freed graph, an in-place change of a saved value. */
export class GradError extends RecurError {
  override name = 'GradError';
}

/** Builds the standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}
