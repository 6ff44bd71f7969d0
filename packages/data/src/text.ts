import { DataError, describe, show } from './errors.js';

/** Unicode normalisation forms accepted by {@link normalizeText}; `'none'` leaves text as it is. */
export type NormalizationForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | 'none';

/** How text is cleaned before it is tokenised. Saved with a vocabulary, so encoding later matches. */
export interface TextOptions {
  /** Unicode normalisation (default `'NFC'`: composed characters, accents kept as one code point). */
  readonly normalize?: NormalizationForm;
  /** Folds letters with diacritics to ASCII: 'Ślusarski' → 'Slusarski', 'Müller' → 'Muller', 'ß' → 'ss' (default false). */
  readonly asciiFold?: boolean;
  /** Lower-cases the text (default false). */
  readonly lowercase?: boolean;
}

/** {@link TextOptions} with every default filled in. */
export interface ResolvedTextOptions {
  readonly normalize: NormalizationForm;
  readonly asciiFold: boolean;
  readonly lowercase: boolean;
}

const FORMS: readonly NormalizationForm[] = ['NFC', 'NFD', 'NFKC', 'NFKD', 'none'];

/** Validates text options and fills in the defaults. */
export function resolveTextOptions(options: TextOptions = {}, where = 'normalizeText'): ResolvedTextOptions {
  const normalize = options.normalize ?? 'NFC';
  if (!FORMS.includes(normalize)) {
    throw new DataError(describe(where, `normalize to be one of ${FORMS.join(', ')}`, show(normalize)));
  }
  for (const key of ['asciiFold', 'lowercase'] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== 'boolean') {
      throw new DataError(describe(where, `${key} to be true or false`, show(v)));
    }
  }
  return { normalize, asciiFold: options.asciiFold ?? false, lowercase: options.lowercase ?? false };
}

/**
 * Cleans text as the options say: Unicode normalisation (NFC by default, so 'é' typed as
 * 'e' + U+0301 and as U+00E9 become the same string), then the optional lower-casing and ASCII
 * folding. Applying it twice gives the same as once.
 */
export function normalizeText(text: string, options: TextOptions = {}): string {
  const o = resolveTextOptions(options);
  return applyText(text, o);
}

/** {@link normalizeText} with already resolved options (no validation). */
export function applyText(text: string, o: ResolvedTextOptions): string {
  const form = o.normalize;
  let s = form === 'none' ? text : text.normalize(form);
  // Case mapping and compatibility decomposition can each undo the other ('𝔸' → 'A' → 'a'),
  // so lower-case between and after the other steps; the result is a fixed point.
  if (o.lowercase) {
    s = s.toLowerCase();
    if (form !== 'none') s = s.normalize(form);
  }
  if (o.asciiFold) s = foldToAscii(s);
  if (o.lowercase && o.asciiFold) s = s.toLowerCase();
  return s;
}

// Letters and punctuation that have no decomposition to ASCII but a conventional ASCII spelling.
const FOLD_TABLE: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
  ŧ: 't',
  Ŧ: 'T',
  ŀ: 'l',
  Ŀ: 'L',
  ĸ: 'k',
  ŋ: 'n',
  Ŋ: 'N',
  '\u02bc': "'",
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u201f': '"',
  '\u00ab': '"',
  '\u00bb': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
  '\u2212': '-',
};

const foldCache = new Map<string, string>();

/** True for combining diacritical marks (the blocks used by Latin, Greek and Cyrillic accents). */
function isDiacritic(cp: number): boolean {
  return (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe20 && cp <= 0xfe2f)
  );
}

function foldChar(ch: string): string {
  const cached = foldCache.get(ch);
  if (cached !== undefined) return cached;
  let out = ch;
  const table = FOLD_TABLE[ch];
  if (table !== undefined) {
    out = table;
  } else if (isDiacritic(ch.codePointAt(0)!)) {
    out = '';
  } else {
    // Compatibility decomposition without the accents: 'é' → 'e', 'ﬁ' → 'fi', 'Ａ' → 'A'.
    let base = '';
    for (const c of ch.normalize('NFKD')) {
      if (isDiacritic(c.codePointAt(0)!)) continue;
      base += FOLD_TABLE[c] ?? c;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point.
    if (base !== '' && /^[\u0000-\u007f]+$/.test(base)) out = base;
  }
  foldCache.set(ch, out);
  return out;
}

/**
 * Folds text to ASCII where a letter has an ASCII base: accents are dropped ('Ślusarski' →
 * 'Slusarski', 'Müller' → 'Muller', 'Dúbhshlaine' → 'Dubhshlaine'), ligatures and letters such as
 * 'ß', 'æ', 'ł', 'ø' get their usual spelling ('ss', 'ae', 'l', 'o'), typographic quotes and dashes
 * become ASCII ones. Characters without an ASCII form (CJK, Arabic, emoji) are kept unchanged, so no
 * information is silently lost; a character vocabulary maps them to `<unk>` if they are rare.
 */
export function foldToAscii(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  let out = '';
  for (const ch of text) out += ch.charCodeAt(0) <= 0x7f ? ch : foldChar(ch);
  return out;
}
