import { DataError, DataFormatError, describe, nonNegativeInt, positiveInt, show } from './errors.js';
import { normalizedPieces, type TextSource } from './stream.js';
import { applyText, type ResolvedTextOptions, resolveTextOptions, type TextOptions } from './text.js';
import { charTokenizer, type Tokenizer, wordTokenizer } from './tokenize.js';

/** The special tokens a vocabulary can reserve, in the order they take the first indices. */
export type SpecialToken = 'pad' | 'unk' | 'bos' | 'eos';

/** The strings of the special tokens. */
export const SPECIAL_TOKENS: Readonly<Record<SpecialToken, string>> = {
  pad: '<pad>',
  unk: '<unk>',
  bos: '<bos>',
  eos: '<eos>',
};

const SPECIAL_ORDER: readonly SpecialToken[] = ['pad', 'unk', 'bos', 'eos'];

export interface VocabOptions extends TextOptions {
  /**
   * Special tokens to reserve (default `['pad', 'unk']`). They take the first indices in the order
   * pad, unk, bos, eos, whatever order they are listed in; so with the default, padding is 0.
   */
  readonly specials?: readonly SpecialToken[];
  /** Tokens seen fewer times are left out (and encode as `<unk>`); default 1. */
  readonly minFrequency?: number;
  /** The largest vocabulary, special tokens included; the most frequent tokens are kept. */
  readonly maxSize?: number;
  /**
   * Order of the ordinary tokens after the specials: `'frequency'` (default; most frequent first,
   * ties in code-point order) or `'alphabetical'` (code-point order). Either way it is deterministic.
   */
  readonly order?: 'frequency' | 'alphabetical';
}

export interface EncodeOptions {
  /** Prepend `<bos>` (the vocabulary must have it). */
  readonly bos?: boolean;
  /** Append `<eos>` (the vocabulary must have it). */
  readonly eos?: boolean;
}

export interface DecodeOptions {
  /** Render `<pad>`, `<bos>` and `<eos>` too (default: dropped; `<unk>` is always rendered). */
  readonly keepSpecials?: boolean;
}

/** The JSON form of a vocabulary (`vocab.toJSON()`), what checkpoints store. */
export interface VocabJSON {
  readonly format: 'recur-vocab';
  readonly version: 1;
  readonly level: 'char' | 'word';
  /** How text is normalised before tokenising. */
  readonly text: ResolvedTextOptions;
  /** The index of each special token present. */
  readonly specials: Partial<Record<SpecialToken, number>>;
  /** Every token by index, specials included. */
  readonly tokens: readonly string[];
  /** How often each token was seen when the vocabulary was built (0 for specials). */
  readonly counts: readonly number[];
}

/** Token counts, as gathered by a vocabulary builder. */
export type TokenCounts = ReadonlyMap<string, number>;

/**
 * A mapping between tokens (characters or words) and indices, with optional special tokens and
 * the text normalisation it was built with. Build one with `CharVocab.fromTexts` /
 * `WordVocab.fromTexts` (or their streaming `fromStream`), store it with `toJSON`, read it back
 * with `Vocab.fromJSON`.
 */
export class Vocab {
  readonly level: 'char' | 'word';
  readonly text: ResolvedTextOptions;
  readonly tokens: readonly string[];
  readonly counts: readonly number[];
  readonly padIndex: number | undefined;
  readonly unkIndex: number | undefined;
  readonly bosIndex: number | undefined;
  readonly eosIndex: number | undefined;
  private readonly index: Map<string, number>;
  private readonly specialSet: ReadonlySet<number>;
  private readonly tokenizer: Tokenizer;
  /** Char level: code point → index, the fast path of `encode`. */
  private readonly byCodePoint: Map<number, number> | undefined;

  /**
   * Wraps tokens as given; use `fromCounts`, `fromTexts`, `fromStream` or `fromJSON` instead.
   * The special tokens must sit at the indices `specials` names; tokens must be unique.
   */
  constructor(json: Omit<VocabJSON, 'format' | 'version'>) {
    const where = 'Vocab';
    if (json.level !== 'char' && json.level !== 'word') {
      throw new DataError(describe(where, "level 'char' or 'word'", show(json.level)));
    }
    this.level = json.level;
    this.tokenizer = json.level === 'char' ? charTokenizer : wordTokenizer;
    this.text = resolveTextOptions(json.text, where);
    if (json.tokens.length !== json.counts.length) {
      throw new DataError(
        describe(
          where,
          'one count per token',
          `${json.tokens.length} tokens and ${json.counts.length} counts`,
        ),
      );
    }
    const index = new Map<string, number>();
    json.tokens.forEach((t, i) => {
      if (typeof t !== 'string' || t === '') {
        throw new DataError(describe(where, 'tokens that are non-empty strings', `${show(t)} at index ${i}`));
      }
      const prev = index.get(t);
      if (prev !== undefined) {
        throw new DataError(describe(where, 'unique tokens', `${show(t)} at indices ${prev} and ${i}`));
      }
      nonNegativeInt(where, `the count of ${show(t)}`, json.counts[i]);
      index.set(t, i);
    });
    const specials = new Set<number>();
    const at = (name: SpecialToken): number | undefined => {
      const i = json.specials[name];
      if (i === undefined) return undefined;
      if (json.tokens[i] !== SPECIAL_TOKENS[name]) {
        throw new DataError(
          describe(
            where,
            `${SPECIAL_TOKENS[name]} at index ${show(i)}`,
            i === null || typeof i !== 'number' ? show(i) : show(json.tokens[i]),
          ),
        );
      }
      specials.add(i);
      return i;
    };
    this.padIndex = at('pad');
    this.unkIndex = at('unk');
    this.bosIndex = at('bos');
    this.eosIndex = at('eos');
    for (const name of Object.keys(json.specials)) {
      if (!SPECIAL_ORDER.includes(name as SpecialToken)) {
        throw new DataError(describe(where, `special tokens among ${SPECIAL_ORDER.join(', ')}`, show(name)));
      }
    }
    this.tokens = json.tokens.slice();
    this.counts = json.counts.slice();
    this.index = index;
    this.specialSet = specials;
    if (this.level === 'char') {
      this.byCodePoint = new Map();
      index.forEach((i, t) => {
        const cp = t.codePointAt(0)!;
        if (t.length === (cp > 0xffff ? 2 : 1) && !specials.has(i)) this.byCodePoint!.set(cp, i);
      });
    }
  }

  /** The number of tokens, specials included (the size of an embedding table or output layer). */
  get size(): number {
    return this.tokens.length;
  }

  /** The index of a token, or -1 if it is not in the vocabulary. */
  indexOf(token: string): number {
    return this.index.get(token) ?? -1;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** The token at an index. */
  tokenAt(index: number): string {
    const t = this.tokens[index];
    if (t === undefined || !Number.isInteger(index)) {
      throw new DataError(describe('Vocab.tokenAt', `an index from 0 to ${this.size - 1}`, show(index)));
    }
    return t;
  }

  /** How often a token was seen when the vocabulary was built (0 if unknown). */
  count(token: string): number {
    const i = this.index.get(token);
    return i === undefined ? 0 : this.counts[i]!;
  }

  /** True for the indices of `<pad>`, `<unk>`, `<bos>` and `<eos>`. */
  isSpecial(index: number): boolean {
    return this.specialSet.has(index);
  }

  /** Normalises text as the vocabulary was built (see `TextOptions`). */
  normalize(text: string): string {
    return applyText(text, this.text);
  }

  /** Normalises and splits text into this vocabulary's tokens (which may be unknown to it). */
  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(this.normalize(text));
  }

  /**
   * Encodes text as token indices. Unknown tokens become `<unk>`; without `<unk>` they are an
   * error that lists them.
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    return this.encodeNormalized(this.normalize(text), options);
  }

  /** `encode` for text already normalised with `vocab.normalize` (e.g. pieces of `normalizedPieces`). */
  encodeNormalized(s: string, options: EncodeOptions = {}): Int32Array {
    if (this.byCodePoint === undefined) return this.encodeTokens(this.tokenizer.tokenize(s), options);
    // Characters: look up code points without building a token array.
    const bos = options.bos ? this.special('bos', 'encode') : undefined;
    const eos = options.eos ? this.special('eos', 'encode') : undefined;
    const out = new Int32Array(s.length + 2);
    let k = 0;
    if (bos !== undefined) out[k++] = bos;
    for (let i = 0; i < s.length; i++) {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const id = this.byCodePoint.get(cp) ?? this.unkIndex;
      // Without <unk>, the token path reports every unknown character.
      if (id === undefined) return this.encodeTokens(this.tokenizer.tokenize(s), options);
      out[k++] = id;
    }
    if (eos !== undefined) out[k++] = eos;
    return out.slice(0, k);
  }

  /** Encodes already tokenised (and normalised) tokens. */
  encodeTokens(tokens: readonly string[], options: EncodeOptions = {}): Int32Array {
    const bos = options.bos ? this.special('bos', 'encode') : undefined;
    const eos = options.eos ? this.special('eos', 'encode') : undefined;
    const out = new Int32Array(tokens.length + (bos === undefined ? 0 : 1) + (eos === undefined ? 0 : 1));
    let k = 0;
    if (bos !== undefined) out[k++] = bos;
    let unknown: string[] | undefined;
    for (const t of tokens) {
      const i = this.index.get(t) ?? this.unkIndex;
      if (i === undefined) {
        unknown ??= [];
        if (!unknown.includes(t)) unknown.push(t);
        continue;
      }
      out[k++] = i;
    }
    if (unknown !== undefined) throw this.unknownError(unknown);
    if (eos !== undefined) out[k++] = eos;
    return out;
  }

  /** Turns indices back into text; `<pad>`, `<bos>`, `<eos>` are dropped unless `keepSpecials`. */
  decode(indices: ArrayLike<number> | Iterable<number>, options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const i of Array.from(indices)) {
      const t = this.tokenAt(i);
      if (!options.keepSpecials && this.specialSet.has(i) && i !== this.unkIndex) continue;
      tokens.push(t);
    }
    return this.tokenizer.join(tokens);
  }

  /** The index of a special token, or an error saying how to add it. */
  special(name: SpecialToken, where = 'Vocab'): number {
    const i = { pad: this.padIndex, unk: this.unkIndex, bos: this.bosIndex, eos: this.eosIndex }[name];
    if (i === undefined) {
      throw new DataError(
        describe(
          `Vocab.${where}`,
          `a vocabulary with ${SPECIAL_TOKENS[name]}`,
          `one with ${this.specialNames().join(', ') || 'no special tokens'}`,
          `Build it with specials: [..., '${name}'].`,
        ),
      );
    }
    return i;
  }

  private specialNames(): string[] {
    return SPECIAL_ORDER.filter((n) => this.specialIndex(n) !== undefined).map((n) => SPECIAL_TOKENS[n]);
  }

  private specialIndex(name: SpecialToken): number | undefined {
    return { pad: this.padIndex, unk: this.unkIndex, bos: this.bosIndex, eos: this.eosIndex }[name];
  }

  private unknownError(unknown: readonly string[]): DataError {
    const shown = unknown
      .slice(0, 10)
      .map((t) => JSON.stringify(t))
      .join(', ');
    const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
    return new DataError(
      describe(
        'Vocab.encode',
        `tokens of the vocabulary (${this.size} tokens, no <unk>)`,
        `unknown token${unknown.length === 1 ? '' : 's'} ${shown}${more}`,
        "Build the vocabulary with specials: ['unk', ...] to map unknown tokens to <unk>, or from texts that contain them.",
      ),
    );
  }

  /** The JSON form (plain data; `JSON.stringify(vocab)` works too). */
  toJSON(): VocabJSON {
    const specials: Partial<Record<SpecialToken, number>> = {};
    for (const n of SPECIAL_ORDER) {
      const i = this.specialIndex(n);
      if (i !== undefined) specials[n] = i;
    }
    return {
      format: 'recur-vocab',
      version: 1,
      level: this.level,
      text: { ...this.text },
      specials,
      tokens: this.tokens.slice(),
      counts: this.counts.slice(),
    };
  }

  /** Reads a vocabulary from its JSON form (an object or a JSON string), checking every field. */
  static fromJSON(json: unknown): Vocab {
    return fromJSON(json);
  }

  /**
   * Builds a vocabulary from token counts: specials first, then tokens seen at least
   * `minFrequency` times, at most `maxSize` in all, in the chosen deterministic order.
   */
  static fromCounts(level: 'char' | 'word', counts: TokenCounts, options: VocabOptions = {}): Vocab {
    const where = `${level === 'char' ? 'CharVocab' : 'WordVocab'}`;
    const text = resolveTextOptions(options, where);
    const specialList = options.specials ?? ['pad', 'unk'];
    if (!Array.isArray(specialList)) {
      throw new DataError(
        describe(where, 'specials to be an array of special-token names', show(specialList)),
      );
    }
    for (const s of specialList) {
      if (!SPECIAL_ORDER.includes(s)) {
        throw new DataError(describe(where, `specials among ${SPECIAL_ORDER.join(', ')}`, show(s)));
      }
    }
    const minFrequency = positiveInt(where, 'minFrequency', options.minFrequency ?? 1);
    const chosen = SPECIAL_ORDER.filter((s) => specialList.includes(s));
    const maxSize =
      options.maxSize === undefined
        ? Number.POSITIVE_INFINITY
        : positiveInt(where, 'maxSize', options.maxSize);
    if (maxSize < chosen.length) {
      throw new DataError(
        describe(where, `maxSize of at least ${chosen.length} (the special tokens)`, String(maxSize)),
      );
    }
    const order = options.order ?? 'frequency';
    if (order !== 'frequency' && order !== 'alphabetical') {
      throw new DataError(describe(where, "order 'frequency' or 'alphabetical'", show(order)));
    }
    const reserved = new Set(chosen.map((s) => SPECIAL_TOKENS[s]));
    const kept: [string, number][] = [];
    for (const [t, c] of counts) if (c >= minFrequency && !reserved.has(t)) kept.push([t, c]);
    kept.sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
    kept.length = Math.min(kept.length, maxSize - chosen.length);
    if (order === 'alphabetical') kept.sort((a, b) => compareCodePoints(a[0], b[0]));
    const specials: Partial<Record<SpecialToken, number>> = {};
    chosen.forEach((s, i) => {
      specials[s] = i;
    });
    return make({
      level,
      text,
      specials,
      tokens: [...chosen.map((s) => SPECIAL_TOKENS[s]), ...kept.map((e) => e[0])],
      counts: [...chosen.map(() => 0), ...kept.map((e) => e[1])],
    });
  }
}

/** A character-level vocabulary: tokens are Unicode code points. */
export class CharVocab extends Vocab {
  /** Counts the characters of texts (after normalisation) and builds the vocabulary. */
  static fromTexts(texts: Iterable<string>, options: VocabOptions = {}): CharVocab {
    return buildFromTexts('char', texts, options) as CharVocab;
  }

  /** Like `fromTexts` for a text source too large for memory: one piece is held at a time. */
  static fromStream(source: TextSource, options: VocabOptions = {}): Promise<CharVocab> {
    return buildFromStream('char', source, options) as Promise<CharVocab>;
  }
}

/** A word-level vocabulary: tokens are words and punctuation (see `wordTokens`). */
export class WordVocab extends Vocab {
  /** Counts the words of texts (after normalisation) and builds the vocabulary. */
  static fromTexts(texts: Iterable<string>, options: VocabOptions = {}): WordVocab {
    return buildFromTexts('word', texts, options) as WordVocab;
  }

  /** Like `fromTexts` for a text source too large for memory: one piece is held at a time. */
  static fromStream(source: TextSource, options: VocabOptions = {}): Promise<WordVocab> {
    return buildFromStream('word', source, options) as Promise<WordVocab>;
  }
}

function make(json: Omit<VocabJSON, 'format' | 'version'>): Vocab {
  return json.level === 'char' ? new CharVocab(json) : new WordVocab(json);
}

function compareCodePoints(a: string, b: string): number {
  // Code-point order, not UTF-16 order, so astral characters sort after U+FFFF.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** Counts tokens: code points for characters (keyed by number, the fast path), words otherwise. */
class Counter {
  private readonly chars = new Map<number, number>();
  private readonly words = new Map<string, number>();

  constructor(private readonly level: 'char' | 'word') {}

  add(text: string): void {
    if (this.level === 'char') {
      const m = this.chars;
      for (let i = 0; i < text.length; i++) {
        const cp = text.codePointAt(i)!;
        if (cp > 0xffff) i++;
        m.set(cp, (m.get(cp) ?? 0) + 1);
      }
    } else {
      for (const t of wordTokenizer.tokenize(text)) this.words.set(t, (this.words.get(t) ?? 0) + 1);
    }
  }

  counts(): Map<string, number> {
    if (this.level === 'word') return this.words;
    return new Map([...this.chars].map(([cp, c]) => [String.fromCodePoint(cp), c]));
  }
}

function buildFromTexts(level: 'char' | 'word', texts: Iterable<string>, options: VocabOptions): Vocab {
  const where = level === 'char' ? 'CharVocab.fromTexts' : 'WordVocab.fromTexts';
  const text = resolveTextOptions(options, where);
  if (typeof texts === 'string') {
    throw new DataError(
      describe(where, 'an iterable of texts', 'a single string', 'Wrap it in an array: fromTexts([text]).'),
    );
  }
  const counter = new Counter(level);
  let n = 0;
  for (const t of texts) {
    if (typeof t !== 'string') {
      throw new DataError(describe(where, 'texts that are strings', `${show(t)} at position ${n}`));
    }
    counter.add(applyText(t, text));
    n++;
  }
  const counts = counter.counts();
  if (counts.size === 0) {
    throw new DataError(
      describe(where, 'at least one token', n === 0 ? 'no texts' : `${n} texts without a token`),
    );
  }
  return Vocab.fromCounts(level, counts, options);
}

/**
 * Counts the tokens of a text source and builds a vocabulary; `where` and `what` name the caller
 * and the source in the error for a source without tokens.
 */
export async function buildFromStream(
  level: 'char' | 'word',
  source: TextSource,
  options: VocabOptions,
  where = level === 'char' ? 'CharVocab.fromStream' : 'WordVocab.fromStream',
  what = 'an empty text',
): Promise<Vocab> {
  const text = resolveTextOptions(options, where);
  const counter = new Counter(level);
  for await (const piece of normalizedPieces(source, text)) counter.add(piece);
  const counts = counter.counts();
  if (counts.size === 0) throw new DataError(describe(where, 'at least one token', what));
  return Vocab.fromCounts(level, counts, options);
}

function fromJSON(input: unknown): Vocab {
  const where = 'Vocab.fromJSON';
  let json = input;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (err) {
      throw new DataFormatError(
        `${where}: expected JSON text, found a parse error: ${(err as Error).message}.`,
      );
    }
  }
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new DataFormatError(
      describe(
        where,
        `${field} to be ${expected}`,
        show(found),
        'Pass the object that vocab.toJSON() returned, or the contents of a file that saveVocab wrote.',
      ),
    );
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    bad('the vocabulary', 'an object', json);
  const o = json as Record<string, unknown>;
  if (o.format !== 'recur-vocab') bad('format', '"recur-vocab"', o.format);
  if (o.version !== 1) bad('version', '1', o.version);
  if (o.level !== 'char' && o.level !== 'word') bad('level', '"char" or "word"', o.level);
  if (o.text === null || typeof o.text !== 'object' || Array.isArray(o.text))
    bad('text', 'an object', o.text);
  if (o.specials === null || typeof o.specials !== 'object' || Array.isArray(o.specials)) {
    bad('specials', 'an object', o.specials);
  }
  if (!Array.isArray(o.tokens)) bad('tokens', 'an array of strings', o.tokens);
  if (!Array.isArray(o.counts)) bad('counts', 'an array of counts', o.counts);
  const tokens = o.tokens as unknown[];
  const counts = o.counts as unknown[];
  tokens.forEach((t, i) => {
    if (typeof t !== 'string') bad(`tokens[${i}]`, 'a string', t);
  });
  counts.forEach((c, i) => {
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0)
      bad(`counts[${i}]`, 'a non-negative integer', c);
  });
  for (const [name, i] of Object.entries(o.specials as Record<string, unknown>)) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= tokens.length) {
      bad(`specials.${name}`, `an index from 0 to ${tokens.length - 1}`, i);
    }
  }
  try {
    return make({
      level: o.level as 'char' | 'word',
      text: o.text as ResolvedTextOptions,
      specials: o.specials as Partial<Record<SpecialToken, number>>,
      tokens: tokens as string[],
      counts: counts as number[],
    });
  } catch (err) {
    if (err instanceof DataError && !(err instanceof DataFormatError)) {
      throw new DataFormatError(err.message.replace(/^Vocab:/, `${where}:`));
    }
    throw err;
  }
}
