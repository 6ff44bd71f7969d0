import { RecurError } from '@recur/tensor';

/** Any misuse or bad input detected by `@recur/data`: wrong options, empty data, unknown tokens. */
export class DataError extends RecurError {
  override name = 'DataError';
}

/** Where in a text a format problem was found: a source (file path), a 1-based line and column. */
export interface TextLocation {
  readonly source?: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * Malformed input text: a non-numeric CSV cell, a sentence-pair line with too few columns,
 * invalid UTF-8, a vocabulary JSON of the wrong shape. `source`, `line` and `column` say where.
 */
export class DataFormatError extends DataError {
  override name = 'DataFormatError';
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, where: TextLocation = {}) {
    super(`${formatLocation(where)}${message}`);
    this.source = where.source;
    this.line = where.line;
    this.column = where.column;
  }
}

function formatLocation(where: TextLocation): string {
  const parts: string[] = [];
  if (where.source !== undefined) parts.push(where.source);
  if (where.line !== undefined) parts.push(`line ${where.line}`);
  if (where.column !== undefined) parts.push(`column ${where.column}`);
  return parts.length === 0 ? '' : `${parts.join(', ')}: `;
}

/** The standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}

/** Checks a positive integer option. */
export function positiveInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new DataError(describe(where, `${name} to be a positive integer`, show(value)));
  }
  return value;
}

/** Checks a non-negative integer option. */
export function nonNegativeInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DataError(describe(where, `${name} to be a non-negative integer`, show(value)));
  }
  return value;
}

/** A short printable form of any value for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a ${typeof value}`;
}
