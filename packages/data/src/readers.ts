import { DataError, DataFormatError, describe, nonNegativeInt, show, type TextLocation } from './errors.js';
import type { Example } from './split.js';
import { readLines, type TextSource } from './stream.js';
import { applyText, resolveTextOptions, type TextOptions } from './text.js';

export interface ReaderOptions {
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
}

export interface LabelledLinesOptions extends ReaderOptions {
  /** Normalisation of each line (default NFC only; accents kept). */
  readonly text?: TextOptions;
}

const SPACES = /\s+/gu;

/** Trims a line and collapses runs of whitespace to one space. */
function clean(line: string): string {
  return line.replace(SPACES, ' ').trim();
}

function at(options: ReaderOptions, line?: number, column?: number): TextLocation {
  return {
    ...(options.source === undefined ? {} : { source: options.source }),
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
  };
}

/**
 * Reads one example per line, all with the same label. Lines are trimmed, inner runs of
 * whitespace become one space, blank lines are skipped, and the text is normalised (NFC by
 * default). Repeats are kept; `stratifiedSplit` removes them.
 */
export async function readLabelledLines(
  source: TextSource,
  label: string,
  options: LabelledLinesOptions = {},
): Promise<Example[]> {
  const text = resolveTextOptions(options.text, 'readLabelledLines');
  const out: Example[] = [];
  for await (const line of readLines(source, options)) {
    const input = applyText(clean(line), text);
    if (input !== '') out.push({ input, label });
  }
  return out;
}

/** A source sentence and its translation. */
export interface SentencePair {
  readonly source: string;
  readonly target: string;
}

export interface PairsOptions extends ReaderOptions {
  /** Column separator (default a tab). */
  readonly separator?: string;
  /** 0-based columns of the source and the target (default [0, 1]; more columns are ignored). */
  readonly columns?: readonly [number, number];
  /** Normalisation of both sides (default NFC). */
  readonly text?: TextOptions;
  /** Skip the first line (a header). */
  readonly header?: boolean;
}

/**
 * Reads sentence pairs, one per line (`eng-fra.txt`: English, tab, French, tab, attribution).
 * Blank lines are skipped; a line with too few columns or an empty side is an error that names the
 * line.
 */
export async function readPairs(source: TextSource, options: PairsOptions = {}): Promise<SentencePair[]> {
  const where = 'readPairs';
  const separator = options.separator ?? '\t';
  if (typeof separator !== 'string' || separator === '') {
    throw new DataError(describe(where, 'a non-empty separator', show(separator)));
  }
  const [sc, tc] = options.columns ?? [0, 1];
  nonNegativeInt(where, 'the source column', sc);
  nonNegativeInt(where, 'the target column', tc);
  const text = resolveTextOptions(options.text, where);
  const need = Math.max(sc, tc) + 1;
  const out: SentencePair[] = [];
  let n = 0;
  for await (const line of readLines(source, options)) {
    n++;
    if ((options.header && n === 1) || line.trim() === '') continue;
    const cells = line.split(separator);
    if (cells.length < need) {
      throw new DataFormatError(
        describe(
          where,
          `at least ${need} columns separated by ${JSON.stringify(separator)}`,
          `${cells.length}: ${show(line)}`,
          'Check the separator option.',
        ),
        at(options, n),
      );
    }
    const s = applyText(clean(cells[sc]!), text);
    const t = applyText(clean(cells[tc]!), text);
    if (s === '' || t === '') {
      throw new DataFormatError(
        describe(where, 'a non-empty source and target', `an empty ${s === '' ? 'source' : 'target'}`),
        at(options, n, (s === '' ? sc : tc) + 1),
      );
    }
    out.push({ source: s, target: t });
  }
  return out;
}

export interface CsvColumnOptions extends ReaderOptions {
  /** The column: a 0-based index or a header name (default 0). */
  readonly column?: number | string;
  /** Whether the first row is a header: true, false, or `'auto'` (default: a header if that row's cell is text, not a number). */
  readonly header?: boolean | 'auto';
  /** Cell delimiter (default ','). */
  readonly delimiter?: string;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Splits one CSV row: delimiter-separated cells, double-quoted cells with "" escapes. */
function splitCsvRow(line: string, delimiter: string, options: ReaderOptions, lineNo: number): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          throw new DataFormatError(
            describe(
              'readCsvColumn',
              'a closing double quote',
              'the end of the line',
              'Multi-line cells are not supported.',
            ),
            at(options, lineNo, cells.length + 1),
          );
        }
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const next = line.indexOf(delimiter, i);
      cell += line.slice(i, next === -1 ? line.length : next);
      i = next === -1 ? line.length + 1 : next + delimiter.length;
    } else {
      const next = line.indexOf(delimiter, i);
      cell = line.slice(i, next === -1 ? line.length : next);
      i = next === -1 ? line.length + 1 : next + delimiter.length;
    }
    cells.push(cell.trim());
    if (i > line.length) return cells;
  }
}

/**
 * Reads one numeric column of a CSV text, line by line (memory holds the numbers and one line).
 * Blank lines are skipped; a missing or non-numeric cell is an error naming its line and column.
 */
export async function readCsvColumn(
  source: TextSource,
  options: CsvColumnOptions = {},
): Promise<Float64Array> {
  const where = 'readCsvColumn';
  const delimiter = options.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter === '' || delimiter.includes('"')) {
    throw new DataError(describe(where, 'a non-empty delimiter without quotes', show(delimiter)));
  }
  const column = options.column ?? 0;
  if (typeof column === 'number') nonNegativeInt(where, 'column', column);
  else if (typeof column !== 'string') {
    throw new DataError(describe(where, 'a column index or header name', show(column)));
  }
  const header = options.header ?? 'auto';
  if (typeof column === 'string' && header === false) {
    throw new DataError(
      describe(where, 'a column index when header is false', `the name ${show(column)}`, 'Set header: true.'),
    );
  }
  let values = new Float64Array(1024);
  let n = 0;
  let index = typeof column === 'number' ? column : -1;
  let lineNo = 0;
  let first = true;
  let name = typeof column === 'string' ? column : undefined;
  for await (const line of readLines(source, options)) {
    lineNo++;
    if (line.trim() === '') continue;
    const cells = splitCsvRow(line, delimiter, options, lineNo);
    if (first) {
      first = false;
      if (typeof column === 'string') {
        index = cells.indexOf(column);
        if (index === -1) {
          throw new DataFormatError(
            describe(
              where,
              `a header with a column ${show(column)}`,
              `the columns ${cells.map((c) => show(c)).join(', ')}`,
            ),
            at(options, lineNo),
          );
        }
        continue;
      }
      const cell = cells[index];
      if (header === true || (header === 'auto' && cell !== undefined && cell !== '' && !NUMBER.test(cell))) {
        name = cell;
        continue;
      }
    }
    const cell = cells[index];
    const label = name === undefined ? '' : ` (${show(name)})`;
    if (cell === undefined) {
      throw new DataFormatError(
        describe(where, `at least ${index + 1} cells`, `${cells.length}`),
        at(options, lineNo, index + 1),
      );
    }
    if (!NUMBER.test(cell)) {
      throw new DataFormatError(
        describe(
          where,
          `a number in column ${index + 1}${label}`,
          cell === '' ? 'an empty cell' : show(cell),
        ),
        at(options, lineNo, index + 1),
      );
    }
    if (n === values.length) {
      const grown = new Float64Array(values.length * 2);
      grown.set(values);
      values = grown;
    }
    values[n++] = Number(cell);
  }
  if (n === 0) {
    throw new DataFormatError(
      describe(
        where,
        'at least one numeric row',
        lineNo === 0 ? 'an empty text' : 'only a header or blank lines',
      ),
      at(options),
    );
  }
  return values.slice(0, n);
}
