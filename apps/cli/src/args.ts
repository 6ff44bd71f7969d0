import { InvalidArgumentError } from 'commander';

/** A commander parser for an integer option of at least `min`, with a one-line error. */
export function intArg(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min} for ${name}, found '${value}'.`);
    return n;
  };
}
