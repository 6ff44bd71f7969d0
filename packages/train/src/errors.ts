import { RecurError } from '@recur/tensor';

/** Misuse or bad input detected by `@recur/train`: wrong options, shapes, states or checkpoints. */
export class TrainError extends RecurError {
  override name = 'TrainError';
}

/** The loss became NaN or infinite: training stopped before the parameters were updated with it. */
export class NonFiniteLossError extends TrainError {
  override name = 'NonFiniteLossError';
  readonly epoch: number;
  readonly step: number;
  readonly loss: number;

  constructor(message: string, details: { epoch: number; step: number; loss: number }) {
    super(message);
    this.epoch = details.epoch;
    this.step = details.step;
    this.loss = details.loss;
  }
}

/** A checkpoint that is missing, malformed, inconsistent, or saved from another model. */
export class CheckpointError extends TrainError {
  override name = 'CheckpointError';
}

/** The standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}

/** A shape as `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A short description of any value, for "found ..." parts of messages. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

/** Throws unless `value` is a finite number ≥ `min` (and ≤ `max`). */
export function checkNumber(
  where: string,
  name: string,
  value: unknown,
  {
    min = Number.NEGATIVE_INFINITY,
    max = Number.POSITIVE_INFINITY,
    minExclusive = false,
    integer = false,
  } = {},
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const range =
      max === Number.POSITIVE_INFINITY
        ? `${minExclusive ? '>' : '≥'} ${min}`
        : `in ${minExclusive ? '(' : '['}${min}, ${max}]`;
    throw new TrainError(
      describe(
        where,
        `${name} to be ${integer ? 'an integer' : 'a finite number'} ${range}`,
        typeName(value),
      ),
    );
  }
  return value as number;
}
