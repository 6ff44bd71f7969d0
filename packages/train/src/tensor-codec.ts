import { fromData, type Tensor } from '@recur/tensor';
import { describe, fmtShape, TrainError, typeName } from './errors.js';

/** A tensor as JSON: shape, dtype, and its little-endian bytes in base64 (exact, compact). */
export interface EncodedTensor {
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'f64' | 'i32';
  readonly data: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** Standard base64 with padding (works in browsers and Node without Buffer). */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  const chunk: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chunk.push(ALPHABET[n >> 18]!, ALPHABET[(n >> 12) & 63]!, ALPHABET[(n >> 6) & 63]!, ALPHABET[n & 63]!);
    if (chunk.length >= 8192) {
      out += chunk.join('');
      chunk.length = 0;
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    chunk.push(ALPHABET[n >> 18]!, ALPHABET[(n >> 12) & 63]!, '==');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    chunk.push(ALPHABET[n >> 18]!, ALPHABET[(n >> 12) & 63]!, ALPHABET[(n >> 6) & 63]!, '=');
  }
  return out + chunk.join('');
}

export function fromBase64(text: string, where: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0) {
    throw new TrainError(describe(where, 'base64 text whose length is a multiple of 4', typeName(text)));
  }
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const v = [0, 1, 2, 3].map((k) => {
      const c = text.charCodeAt(i + k);
      if (c === 61 && i + k >= text.length - pad) return 0; // '='
      const d = c < 128 ? LOOKUP[c]! : -1;
      if (d < 0) {
        throw new TrainError(
          describe(where, 'base64 characters', `${JSON.stringify(text[i + k])} at ${i + k}`),
        );
      }
      return d;
    });
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}

/** Reads a tensor's values synchronously (CPU backends) and encodes them. */
export function encodeTensor(t: Tensor, where: string): EncodedTensor {
  if (!t.backend.readSync) {
    throw new TrainError(
      describe(
        where,
        'tensors on a backend with synchronous reads (such as @recur/backend-js)',
        `a tensor on '${t.backend.name}'`,
      ),
    );
  }
  const values = t.dataSync();
  return encodeValues(values, t.shape, t.dtype);
}

/** Reads a tensor's values on any backend (`await tensor.data()`) and encodes them. */
export async function encodeTensorAsync(t: Tensor): Promise<EncodedTensor> {
  const values = (await t.data()) as Float32Array | Float64Array | Int32Array;
  return encodeValues(values, t.shape, t.dtype as 'f32' | 'f64' | 'i32');
}

/** Encodes host values of a dtype. */
export function encodeValues(
  values: Float32Array | Float64Array | Int32Array,
  shape: readonly number[],
  dtype: 'f32' | 'f64' | 'i32',
): EncodedTensor {
  if (!littleEndian()) throw new TrainError('encodeTensor: big-endian hosts are not supported.');
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { shape: [...shape], dtype, data: toBase64(bytes) };
}

/** The host values of an encoded tensor, checked against its shape. */
export function decodeValues(e: EncodedTensor, where: string): Float32Array | Float64Array | Int32Array {
  if (typeof e !== 'object' || e === null || !Array.isArray(e.shape) || typeof e.data !== 'string') {
    throw new TrainError(describe(where, 'an encoded tensor { shape, dtype, data }', typeName(e)));
  }
  if (e.dtype !== 'f32' && e.dtype !== 'f64' && e.dtype !== 'i32') {
    throw new TrainError(describe(where, "dtype 'f32', 'f64' or 'i32'", typeName(e.dtype)));
  }
  const size = e.shape.reduce((a, b) => a * b, 1);
  const bytes = fromBase64(e.data, where);
  const per = e.dtype === 'f64' ? 8 : 4;
  if (bytes.length !== size * per) {
    throw new TrainError(
      describe(where, `${size * per} bytes for ${e.dtype} ${fmtShape(e.shape)}`, `${bytes.length} bytes`),
    );
  }
  const copy = new Uint8Array(bytes); // aligned
  if (e.dtype === 'f32') return new Float32Array(copy.buffer);
  if (e.dtype === 'f64') return new Float64Array(copy.buffer);
  return new Int32Array(copy.buffer);
}

/** A new tensor from an encoded one, on the backend and dtype of `like` (if given). */
export function decodeTensor(e: EncodedTensor, where: string, like?: Tensor): Tensor {
  const values = decodeValues(e, where);
  return fromData(values, e.shape, {
    dtype: like?.dtype ?? e.dtype,
    ...(like ? { backend: like.backend } : {}),
  });
}
