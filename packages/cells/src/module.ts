import { keep, type Tensor } from '@recur/tensor';
import { CellsError, describe, fmtShape, StateDictError } from './errors.js';

/** Named tensors, as `stateDict()` returns them and `readSafetensors(...).tensors` gives them. */
export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface LoadStateDictOptions {
  /** Require exactly the module's keys (default true); otherwise skip and report the differences. */
  readonly strict?: boolean;
}

export interface LoadStateDictResult {
  /** Parameters the dict did not hold (left unchanged). */
  readonly missingKeys: readonly string[];
  /** Keys of the dict that name no parameter (ignored). */
  readonly unexpectedKeys: readonly string[];
}

/** Entries of a Map or a plain record, in order. */
export function stateDictEntries(dict: StateDict): [string, Tensor][] {
  return dict instanceof Map ? [...dict.entries()] : Object.entries(dict as Record<string, Tensor>);
}

/**
 * The base of every layer: named parameters (PyTorch's names, with `.` between a child module and
 * its parameters), train/eval mode, and state dicts. Parameters are leaves that require gradients
 * (unless frozen) and are kept out of `tidy` scopes, so a module may be built inside one.
 */
export abstract class Module {
  /** Training mode (the default) enables dropout; `eval()` turns it off. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter under `name`, returns it. */
  protected registerParameter(name: string, value: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) {
      throw new CellsError(
        `registerParameter: the name '${name}' is already taken in ${this.constructor.name}.`,
      );
    }
    this.params.set(name, keep(value));
    return value;
  }

  /** Registers a child module under `name`; its parameters appear as `name.param`. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (this.params.has(name) || this.children.has(name)) {
      throw new CellsError(
        `registerModule: the name '${name}' is already taken in ${this.constructor.name}.`,
      );
    }
    this.children.set(name, module);
    return module;
  }

  /** Every parameter with its dotted name, in registration order (children after own parameters). */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params.entries()];
    for (const [prefix, child] of this.children) {
      for (const [name, p] of child.namedParameters()) out.push([`${prefix}.${name}`, p]);
    }
    return out;
  }

  /** Every parameter, frozen ones included (they have `requiresGrad` false). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The number of scalar values in all parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode (dropout on) or, with `false`, evaluation mode, here and in every child. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  /** Evaluation mode: dropout becomes the identity. */
  eval(): this {
    return this.train(false);
  }

  /**
   * The parameters by PyTorch name. These are the live tensors, not copies: do not dispose them,
   * and clone them to keep a snapshot that later training does not change.
   */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into the parameters (which keep their identity, dtype and backend). Everything
   * is checked before anything is written: a shape mismatch always throws; missing or unexpected
   * keys throw when `strict` (the default) and are reported otherwise.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = new Map(this.namedParameters());
    const given = stateDictEntries(dict);
    const givenNames = new Set(given.map(([k]) => k));
    const missingKeys = [...own.keys()].filter((k) => !givenNames.has(k));
    const unexpectedKeys = given.map(([k]) => k).filter((k) => !own.has(k));
    const where = `${this.constructor.name}.loadStateDict`;
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length > 0) parts.push(`missing keys ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
      if (unexpectedKeys.length > 0)
        parts.push(`unexpected keys ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
      throw new StateDictError(
        describe(
          where,
          `exactly the keys ${[...own.keys()].map((k) => `'${k}'`).join(', ')}`,
          parts.join('; '),
          'Build the module with the options the weights were saved with (numLayers, bidirectional, bias, projSize), or pass { strict: false } to load a subset.',
        ),
        missingKeys,
        unexpectedKeys,
      );
    }
    const updates: [Tensor, Tensor][] = [];
    for (const [name, value] of given) {
      const param = own.get(name);
      if (!param) continue;
      if (!isTensorLike(value)) {
        throw new StateDictError(describe(where, `a Tensor for '${name}'`, typeof value));
      }
      const same =
        value.shape.length === param.shape.length && value.shape.every((d, i) => d === param.shape[i]);
      if (!same) {
        const hint = this.hintFor(name);
        throw new StateDictError(
          describe(
            where,
            `'${name}' of shape ${fmtShape(param.shape)}${hint ? ` (${hint})` : ''}`,
            `${fmtShape(value.shape)}`,
            'The checkpoint was saved from a model of other sizes: build this module with the same sizes (inputSize, hiddenSize, projSize, numEmbeddings...).',
          ),
        );
      }
      updates.push([param, value]);
    }
    for (const [param, value] of updates) {
      if (value === param) continue;
      if (value.backend === param.backend) param.assign(value);
      else if (value.backend.readSync) param.assign(value.dataSync());
      else {
        throw new StateDictError(
          describe(
            where,
            `tensors on backend '${param.backend.name}' or a backend with synchronous reads`,
            `a tensor on '${value.backend.name}'`,
            'Read the values with await tensor.data() and pass tensors on the same backend.',
          ),
        );
      }
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Frees every parameter; the module cannot be used afterwards. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }

  /** How one of this module's own parameters gets its shape from the options, for error messages. */
  protected parameterHint(_name: string): string | undefined {
    return undefined;
  }

  private hintFor(name: string): string | undefined {
    const dot = name.indexOf('.');
    if (dot < 0) return this.parameterHint(name);
    return this.children.get(name.slice(0, dot))?.hintFor(name.slice(dot + 1));
  }
}

function isTensorLike(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'shape' in v && 'dtype' in v && 'storage' in v;
}
