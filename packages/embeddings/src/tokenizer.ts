/** The token word2vec.c emits for every newline of the corpus (and keeps first in the vocabulary). */
export const EOS = '</s>';

const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;

/**
 * Splits text into tokens the way word2vec.c's `ReadWord` does, one chunk at a time: tokens are
 * separated by space, tab or newline, every newline is itself the token `</s>`, and carriage
 * returns are dropped (so CRLF files read like LF files). Other characters, including other
 * Unicode spaces, belong to words, as in the C tool.
 *
 * Only the unfinished token at the end of a chunk is kept between chunks, so memory does not grow
 * with line length (a corpus such as text8 is a single 100 MB line).
 */
export class Tokenizer {
  private pending = '';

  constructor(private readonly emit: (token: string) => void) {}

  /** Feeds the next chunk of text. */
  push(chunk: string): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== SPACE && c !== TAB && c !== NEWLINE) continue;
      this.flush(chunk, start, i);
      if (c === NEWLINE) this.emit(EOS);
      start = i + 1;
    }
    if (start < chunk.length) this.pending += chunk.slice(start);
  }

  /** Ends the input: emits the last token if the text did not end with a separator. */
  end(): void {
    this.flush('', 0, 0);
  }

  private flush(chunk: string, start: number, stop: number): void {
    let token = this.pending + chunk.slice(start, stop);
    this.pending = '';
    if (token.includes('\r')) token = token.replaceAll('\r', '');
    if (token !== '') this.emit(token);
  }
}

/** Tokenises a whole string with {@link Tokenizer}'s rules. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const t = new Tokenizer((tok) => out.push(tok));
  t.push(text);
  t.end();
  return out;
}
