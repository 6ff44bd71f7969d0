import { RecurError } from '@recur/tensor';

/** Any misuse or bad input detected by `@recur/cells`: wrong sizes, options, states or lengths. */
export class CellsError extends RecurError {
  override name = 'CellsError';
}

/** A state dict that does not fit a module: missing or unexpected keys, or a shape mismatch. */
export class StateDictError extends CellsError {
  override name = 'StateDictError';
  readonly missingKeys: readonly string[];
  readonly unexpectedKeys: readonly string[];

  constructor(message: string, missingKeys: readonly string[] = [], unexpectedKeys: readonly string[] = []) {
    super(message);
    this.missingKeys = missingKeys;
    this.unexpectedKeys = unexpectedKeys;
  }
}

/** A malformed safetensors file; `offset` (0-based byte) says where, when it is known. */
export class SafetensorsError extends CellsError {
  override name = 'SafetensorsError';
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(
      offset === undefined ? `safetensors: ${message}` : `safetensors: byte offset ${offset}: ${message}`,
    );
    this.offset = offset;
  }
}

/** The standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}

/** A shape as `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
