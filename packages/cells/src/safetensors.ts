import { type Backend, fromData, Tensor } from '@recur/tensor';
import { CellsError, describe, SafetensorsError } from './errors.js';
import { type StateDict, stateDictEntries } from './module.js';

/** The element types of the safetensors format. */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/** Bytes per element, in the order of the Rust crate's `Dtype` enum (the writer sorts by it). */
const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};
const DTYPE_RANK = new Map(Object.keys(DTYPE_SIZE).map((d, i) => [d, i]));
const READABLE: ReadonlySet<string> = new Set([
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
]);

/** The largest header accepted, as in the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte range `[begin, end)` relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  /** Entries in file order (by data offset). */
  readonly entries: readonly SafetensorsEntry[];
  /** The `__metadata__` string map, or undefined when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Byte offset of the data section in the file (8 + header length). */
  readonly dataStart: number;
}

export interface ReadSafetensorsOptions {
  /** Backend for the tensors (default: the active one). */
  readonly backend?: Backend;
}

export interface SafetensorsContents {
  /** Tensors by name, in file order: F32/F16/BF16 as f32, F64 as f64, integers and BOOL as i32. */
  readonly tensors: Map<string, Tensor>;
  /** The `__metadata__` string map, or undefined when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** The dtype each tensor had in the file. */
  readonly dtypes: Map<string, SafetensorsDType>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(message: string, offset?: number): never {
  throw new SafetensorsError(message, offset);
}

/**
 * Parses and validates the header of a safetensors file without reading tensor data: the 8-byte
 * little-endian header length, the JSON header, each entry's dtype, shape and offsets, and that
 * the entries tile the data section exactly (no gap, no overlap, nothing after).
 */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError(describe('readSafetensors', 'the file as a Uint8Array', typeof bytes));
  }
  if (bytes.length < 8) {
    fail(
      `the file is ${bytes.length} bytes, too short for the 8-byte header length (truncated or not safetensors)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  if (hi !== 0 || headerLength > MAX_HEADER_BYTES) {
    fail(
      `the header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes (not a safetensors file?)`,
      0,
    );
  }
  if (8 + headerLength > bytes.length) {
    fail(
      `the header of ${headerLength} bytes runs past the end of the file (${bytes.length} bytes): the file is truncated or not safetensors`,
      0,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('the header is not valid UTF-8', 8);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`the header is not valid JSON (${err instanceof Error ? err.message : String(err)})`, 8);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(
      `the header is JSON but not an object (found ${Array.isArray(json) ? 'an array' : String(json)})`,
      8,
    );
  }
  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        fail('__metadata__ must be an object of strings');
      }
      metadata = {};
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of '${k}' must be a string, found ${typeof v}`);
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      continue;
    }
    entries.push(parseEntry(name, info));
  }
  const dataLength = bytes.length - 8 - headerLength;
  const sorted = [...entries].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let at = 0;
  let prev: SafetensorsEntry | undefined;
  for (const e of sorted) {
    const [begin, end] = e.dataOffsets;
    if (begin !== at) {
      const what = begin < at ? 'overlaps' : 'leaves a gap after';
      fail(
        `tensor '${e.name}' starts at data offset ${begin}, so it ${what} ${prev ? `tensor '${prev.name}', which ends at ${at}` : 'the start of the data section (offset 0)'}`,
      );
    }
    at = end;
    prev = e;
  }
  if (at !== dataLength) {
    fail(
      at < dataLength
        ? `the tensors cover ${at} bytes of data but the data section has ${dataLength}: trailing bytes after the last tensor`
        : `the tensors need ${at} bytes of data but the data section has only ${dataLength}: the file is truncated`,
    );
  }
  return { entries: sorted, metadata, dataStart: 8 + headerLength };
}

function parseEntry(name: string, info: unknown): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    fail(
      `${where}: expected an object {dtype, shape, data_offsets}, found ${Array.isArray(info) ? 'an array' : String(info)}`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !DTYPE_RANK.has(dtype)) {
    fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${where}: shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
    offsets[0] > offsets[1]
  ) {
    fail(
      `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`,
    );
  }
  let elements = 1;
  for (const d of shape as number[]) {
    elements *= d;
    if (!Number.isSafeInteger(elements))
      fail(`${where}: shape ${JSON.stringify(shape)} has too many elements`);
  }
  const size = DTYPE_SIZE[dtype as SafetensorsDType];
  const [begin, end] = offsets as [number, number];
  if (elements * size !== end - begin) {
    fail(
      `${where}: shape ${JSON.stringify(shape)} of ${dtype} needs ${elements} × ${size} = ${elements * size} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], dataOffsets: [begin, end] };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeEntry(
  e: SafetensorsEntry,
  bytes: Uint8Array,
  start: number,
): Float32Array | Float64Array | Int32Array {
  const n = (e.dataOffsets[1] - e.dataOffsets[0]) / DTYPE_SIZE[e.dtype];
  const begin = start + e.dataOffsets[0];
  const raw = bytes.subarray(begin, begin + n * DTYPE_SIZE[e.dtype]);
  if (LITTLE_ENDIAN) {
    // A copy into a fresh buffer (aligned whatever the offset in the file; Buffer#slice would not copy).
    const copy = (): ArrayBuffer => new Uint8Array(raw).buffer;
    if (e.dtype === 'F32') return new Float32Array(copy());
    if (e.dtype === 'F64') return new Float64Array(copy());
    if (e.dtype === 'I32') return new Int32Array(copy());
  }
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out32 = (f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
  const int32 = (f: (i: number) => number): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = f(i);
    return out;
  };
  const inRange = (value: number, i: number): number => {
    if (value < -(2 ** 31) || value >= 2 ** 31) {
      fail(
        `tensor '${e.name}': ${e.dtype} value ${value} at index ${i} does not fit in i32, the integer dtype of tensors`,
      );
    }
    return value;
  };
  switch (e.dtype) {
    case 'F32':
      return out32((i) => v.getFloat32(4 * i, true));
    case 'F64':
      return Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i, true));
    case 'F16':
      return out32((i) => halfToFloat(v.getUint16(2 * i, true)));
    case 'BF16': {
      const f = new DataView(new ArrayBuffer(4));
      return out32((i) => {
        f.setUint32(0, v.getUint16(2 * i, true) << 16, true);
        return f.getFloat32(0, true);
      });
    }
    case 'I32':
      return int32((i) => v.getInt32(4 * i, true));
    case 'U32':
      return int32((i) => inRange(v.getUint32(4 * i, true), i));
    case 'I64':
      return int32((i) => inRange(v.getInt32(8 * i + 4, true) * 2 ** 32 + v.getUint32(8 * i, true), i));
    case 'U64':
      return int32((i) => inRange(v.getUint32(8 * i + 4, true) * 2 ** 32 + v.getUint32(8 * i, true), i));
    case 'I16':
      return int32((i) => v.getInt16(2 * i, true));
    case 'U16':
      return int32((i) => v.getUint16(2 * i, true));
    case 'I8':
      return int32((i) => v.getInt8(i));
    case 'U8':
    case 'BOOL':
      return int32((i) => v.getUint8(i));
    default:
      return fail(
        `tensor '${e.name}': dtype ${e.dtype} cannot be read (supported: ${[...READABLE].join(', ')})`,
      );
  }
}

/**
 * Reads a safetensors file (e.g. a PyTorch `state_dict` saved with `safetensors.torch.save_file`).
 * Malformed input throws a `SafetensorsError` saying what is wrong and where.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  const header = parseSafetensorsHeader(bytes);
  const decoded = header.entries.map((e) => decodeEntry(e, bytes, header.dataStart));
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDType>();
  header.entries.forEach((e, i) => {
    const t = fromData(decoded[i]!, e.shape, options.backend ? { backend: options.backend } : {});
    tensors.set(e.name, t);
    dtypes.set(e.name, e.dtype);
  });
  return { tensors, metadata: header.metadata, dtypes };
}

interface Prepared {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

const encoder = new TextEncoder();

function compareBytes(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function checkInputs(
  tensors: StateDict,
  metadata: Readonly<Record<string, string>> | undefined,
): [string, Tensor][] {
  const where = 'writeSafetensors';
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new CellsError(describe(where, 'metadata as an object of strings', String(metadata)));
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new CellsError(
          describe(
            where,
            `string metadata values`,
            `${typeof v} for '${k}'`,
            'Convert values with String() or JSON.stringify().',
          ),
        );
      }
    }
  }
  const entries = stateDictEntries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') {
      throw new CellsError(
        describe(where, 'tensor names other than __metadata__', '__metadata__', 'Rename the tensor.'),
      );
    }
    if (!(t instanceof Tensor)) {
      throw new CellsError(describe(where, `a Tensor for '${name}'`, t === null ? 'null' : typeof t));
    }
  }
  return entries;
}

const DTYPE_OF = { f32: 'F32', f64: 'F64', i32: 'I32' } as const;

function encode(items: Prepared[], metadata: Readonly<Record<string, string>> | undefined): Uint8Array {
  // As the reference writer: tensors by descending dtype, then by name; __metadata__ first.
  const sorted = [...items].sort(
    (a, b) => DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || compareBytes(a.name, b.name),
  );
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareBytes);
    parts.push(
      `"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`,
    );
  }
  let offset = 0;
  for (const t of sorted) {
    const n = t.data.byteLength;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`,
    );
    offset += n;
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of sorted) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      const size = t.data.BYTES_PER_ELEMENT;
      t.data.forEach((x, i) => {
        if (t.dtype === 'F32') view.setFloat32(at + i * size, x, true);
        else if (t.dtype === 'F64') view.setFloat64(at + i * size, x, true);
        else view.setInt32(at + i * size, x, true);
      });
    }
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Writes tensors (f32, f64, i32 → F32, F64, I32) and optional string metadata in the safetensors
 * format, byte for byte as the reference implementation does: entries sorted by dtype then name,
 * `__metadata__` first (its keys sorted), the header padded with spaces to a multiple of 8 bytes.
 * Needs a backend that reads synchronously; `writeSafetensorsAsync` works on any.
 */
export function writeSafetensors(
  tensors: StateDict,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries = checkInputs(tensors, metadata);
  const items = entries.map(([name, t]): Prepared => {
    if (!t.backend.readSync) {
      throw new CellsError(
        describe(
          'writeSafetensors',
          'tensors on a backend with synchronous reads',
          `'${name}' on '${t.backend.name}'`,
          'Use await writeSafetensorsAsync(...).',
        ),
      );
    }
    return { name, dtype: DTYPE_OF[t.dtype], shape: t.shape, data: t.dataSync() };
  });
  return encode(items, metadata);
}

/** `writeSafetensors` for any backend, reading tensors with `await tensor.data()`. */
export async function writeSafetensorsAsync(
  tensors: StateDict,
  metadata?: Readonly<Record<string, string>>,
): Promise<Uint8Array> {
  const entries = checkInputs(tensors, metadata);
  const items: Prepared[] = [];
  for (const [name, t] of entries)
    items.push({ name, dtype: DTYPE_OF[t.dtype], shape: t.shape, data: await t.data() });
  return encode(items, metadata);
}
