import { DataFormatError } from './errors.js';
import { applyText, type ResolvedTextOptions } from './text.js';

/**
 * Text arriving in pieces: strings or UTF-8 bytes, from an (async) iterable such as a Node read
 * stream, a `fetch` body's reader wrapped as an async iterable, or an array of strings.
 */
export type TextSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

export interface StreamOptions {
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
}

/**
 * Decodes a text source to strings, piece by piece: UTF-8 bytes are decoded across piece
 * boundaries (invalid UTF-8 is an error, not a silent U+FFFD), a leading byte-order mark is
 * dropped, and CRLF line endings become LF. Memory holds one piece at a time.
 */
export async function* decodeText(source: TextSource, options: StreamOptions = {}): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let bytesSeen = 0;
  let first = true;
  let carryCR = false;
  const decodeBytes = (bytes: Uint8Array | undefined, stream: boolean): string => {
    try {
      return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream });
    } catch {
      throw new DataFormatError(
        `decodeText: expected UTF-8 text, found invalid UTF-8 in the bytes ${bytesSeen} to ${bytesSeen + (bytes?.length ?? 0)}. Convert the file to UTF-8 (e.g. iconv -t UTF-8).`,
        options.source === undefined ? {} : { source: options.source },
      );
    }
  };
  const finish = (s: string): string => {
    if (first && s !== '') {
      first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (carryCR) {
      s = `\r${s}`;
      carryCR = false;
    }
    if (s.endsWith('\r')) {
      carryCR = true;
      s = s.slice(0, -1);
    }
    return s.includes('\r\n') ? s.replaceAll('\r\n', '\n') : s;
  };
  for await (const piece of source as AsyncIterable<string | Uint8Array>) {
    let s: string;
    if (typeof piece === 'string') {
      s = decodeBytes(undefined, false) + piece;
    } else {
      s = decodeBytes(piece, true);
      bytesSeen += piece.length;
    }
    const out = finish(s);
    if (out !== '') yield out;
  }
  const rest = decodeBytes(undefined, false);
  let out = finish(rest);
  if (carryCR) out += '\r';
  if (out !== '') yield out;
}

/**
 * Yields the lines of a text source without their terminators (LF or CRLF). A final line without
 * a newline is yielded too; the empty string after a trailing newline is not. Memory holds one
 * piece and the current line.
 */
export async function* readLines(source: TextSource, options: StreamOptions = {}): AsyncGenerator<string> {
  let pending = '';
  let any = false;
  for await (const text of decodeText(source, options)) {
    any = true;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      yield pending + text.slice(start, nl);
      pending = '';
      start = nl + 1;
    }
    pending += text.slice(start);
  }
  if (any && pending !== '') yield pending;
}

/** The longest piece held while looking for a safe place to cut (in UTF-16 code units). */
const MAX_PENDING = 1 << 16;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11;
}

/** Where `text` can be cut so that normalising the parts gives the same as normalising the whole. */
function safeCut(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) if (isSpace(text.charCodeAt(i))) return i + 1;
  if (text.length < MAX_PENDING) return 0;
  // No whitespace in a very long run: cut before a code point that never combines with what
  // precedes it (below U+0300), else at least not inside a surrogate pair.
  for (let i = text.length - 1; i > 0; i--) if (text.charCodeAt(i) < 0x300) return i;
  let i = text.length - 1;
  const c = text.charCodeAt(i);
  if (c >= 0xdc00 && c <= 0xdfff) i--;
  return i;
}

/**
 * Decodes and normalises a text source (see `TextOptions`) piece by piece. Pieces are cut after
 * whitespace, so normalisation, case mapping and word tokenisation of the pieces give what they
 * give on the whole text; a run of more than 65 536 code units without whitespace is cut before a
 * character below U+0300 (which never combines with the one before it).
 */
export async function* normalizedPieces(
  source: TextSource,
  text: ResolvedTextOptions,
  options: StreamOptions = {},
): AsyncGenerator<string> {
  let pending = '';
  for await (const piece of decodeText(source, options)) {
    const all = pending + piece;
    const cut = safeCut(all);
    pending = all.slice(cut);
    if (cut > 0) yield applyText(all.slice(0, cut), text);
  }
  if (pending !== '') yield applyText(pending, text);
}
