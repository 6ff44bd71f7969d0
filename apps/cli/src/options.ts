import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from './errors.js';

/** What an option accepts; the same rule checks a flag's text and a config file's JSON value. */
export type Kind =
  | { readonly type: 'int'; readonly min: number }
  | { readonly type: 'number'; readonly min: number; readonly exclusive?: boolean }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'string' }
  | { readonly type: 'boolean' };

/** One option of a command: its flag, its key in a config file, its rule, its default and help. */
export interface OptionSpec {
  /** camelCase key, as in a config file and in the parsed options. */
  readonly key: string;
  /** The flag, e.g. `--seq-len <n>`; `--json` for a boolean. */
  readonly flag: string;
  readonly kind: Kind;
  readonly help: string;
  readonly default?: unknown;
  /** Not settable from a config file (e.g. --config itself). */
  readonly cliOnly?: boolean;
  /** Must be given on the command line. */
  readonly required?: boolean;
}

export const int = (min: number): Kind => ({ type: 'int', min });
export const positive: Kind = { type: 'number', min: 0, exclusive: true };
export const nonNegative: Kind = { type: 'number', min: 0 };
export const str: Kind = { type: 'string' };
export const bool: Kind = { type: 'boolean' };
export const oneOf = (...values: string[]): Kind => ({ type: 'enum', values });

function expected(kind: Kind): string {
  switch (kind.type) {
    case 'int':
      return `an integer >= ${kind.min}`;
    case 'number':
      return kind.exclusive ? `a number > ${kind.min}` : `a number >= ${kind.min}`;
    case 'enum':
      return kind.values.length === 2
        ? `${kind.values[0]} or ${kind.values[1]}`
        : `${kind.values.slice(0, -1).join(', ')} or ${kind.values.at(-1)}`;
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
  }
}

function flagName(spec: OptionSpec): string {
  return spec.flag.split(' ')[0]!;
}

/** Checks a value (a number or string from JSON, or a flag's text when `fromText`); returns it typed. */
function check(kind: Kind, value: unknown, fromText: boolean): { ok: true; value: unknown } | { ok: false } {
  switch (kind.type) {
    case 'int':
    case 'number': {
      if (fromText && (typeof value !== 'string' || value.trim() === '')) return { ok: false };
      const n = fromText ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return { ok: false };
      if (kind.type === 'int' && !Number.isInteger(n)) return { ok: false };
      const tooSmall = kind.type === 'number' && kind.exclusive === true ? n <= kind.min : n < kind.min;
      if (tooSmall) return { ok: false };
      return { ok: true, value: n };
    }
    case 'enum':
      return typeof value === 'string' && kind.values.includes(value) ? { ok: true, value } : { ok: false };
    case 'string':
      return typeof value === 'string' && value !== '' ? { ok: true, value } : { ok: false };
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false };
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** Adds the specs' options to a command, with parsers that reject bad values in one line. */
export function addOptions(cmd: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const help = spec.default === undefined ? spec.help : `${spec.help} (default: ${spec.default})`;
    const option = new Option(spec.flag, help);
    if (spec.kind.type !== 'boolean') {
      const kind = spec.kind;
      option.argParser((text: string) => {
        const r = check(kind, text, true);
        if (!r.ok)
          throw new InvalidArgumentError(
            `expected ${expected(kind)} for ${flagName(spec)}, found '${text}'.`,
          );
        return r.value;
      });
    }
    if (spec.required) option.makeOptionMandatory();
    cmd.addOption(option);
  }
  return cmd;
}

/**
 * Reads a JSON config file of option values (keys camelCase, or as the flags spell them) and checks
 * every key and value against the specs, with a one-line error naming the file and the key.
 */
export function readConfig(path: string, specs: readonly OptionSpec[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `--config: expected a readable JSON file at ${path}, found ${code === 'ENOENT' ? 'no such file' : (e as Error).message}.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`config ${path}: expected JSON, found a syntax error (${(e as Error).message}).`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CliError(
      `config ${path}: expected a JSON object of options such as {"hidden": 128}, found ${Array.isArray(json) ? 'an array' : show(json)}.`,
    );
  }
  const byKey = new Map(specs.filter((s) => !s.cliOnly).map((s) => [s.key, s]));
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(json)) {
    const key = rawKey.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const spec = byKey.get(key);
    if (!spec) {
      throw new CliError(
        `config ${path}: unknown key '${rawKey}'; expected one of ${[...byKey.keys()].join(', ')}.`,
      );
    }
    const r = check(spec.kind, value, false);
    if (!r.ok)
      throw new CliError(
        `config ${path}: expected ${expected(spec.kind)} for '${key}', found ${show(value)}.`,
      );
    out[key] = r.value;
  }
  return out;
}

/**
 * The options a command runs with: defaults, then the config file's values, then the flags given
 * on the command line (flags win).
 */
export function resolveOptions<T>(cmd: Command, specs: readonly OptionSpec[]): T {
  const given = cmd.opts() as Record<string, unknown>;
  const config = typeof given.config === 'string' ? readConfig(given.config, specs) : {};
  const out: Record<string, unknown> = {};
  for (const s of specs) if (s.default !== undefined) out[s.key] = s.default;
  Object.assign(out, config);
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Options every training command shares. */
export const COMMON_TRAIN: readonly OptionSpec[] = [
  {
    key: 'backend',
    flag: '--backend <name>',
    kind: oneOf('js', 'wasm', 'webgpu'),
    help: 'compute backend',
    default: 'js',
  },
  { key: 'seed', flag: '--seed <n>', kind: int(0), help: 'random seed', default: 1 },
  { key: 'out', flag: '--out <dir>', kind: str, help: 'where to save the model' },
  {
    key: 'resume',
    flag: '--resume <dir>',
    kind: str,
    help: 'continue the run saved in this model directory',
    cliOnly: true,
  },
  { key: 'json', flag: '--json', kind: bool, help: 'print JSON lines; the last holds the result' },
  {
    key: 'config',
    flag: '--config <file>',
    kind: str,
    help: 'a JSON file of options (flags override it)',
    cliOnly: true,
  },
];
