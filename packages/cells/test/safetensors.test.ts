import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, type Tensor, tensor, tidy } from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LSTM,
  parseSafetensorsHeader,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
  writeSafetensorsAsync,
} from '../src/index.js';
import { caught, maxAbsDiff, useJsBackend } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A file from a header object (serialised as given) and raw data bytes. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array {
  const json = enc(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

beforeAll(() => {
  useJsBackend();
});

describe('safetensors: PyTorch state dicts load directly', () => {
  it('a PyTorch LSTM state_dict (format "pt") loads strictly into the LSTM of the same options', () => {
    tidy(() => {
      const { tensors, metadata, dtypes } = readSafetensors(fixture('lstm_state_dict.safetensors'));
      expect(metadata).toEqual({ format: 'pt' });
      expect([...dtypes.values()].every((d) => d === 'F32')).toBe(true);
      const lstm = new LSTM({ inputSize: 5, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 3 });
      lstm.loadStateDict(tensors);
      for (const [name, p] of lstm.namedParameters()) expect(maxAbsDiff(p, tensors.get(name)!)).toBe(0);
    });
  });

  it('every dtype converts: F16/BF16 to f32, I64/I16/I8/U8/BOOL to i32, scalars and empty tensors', () => {
    tidy(() => {
      const { tensors, dtypes, metadata } = readSafetensors(fixture('dtypes.safetensors'));
      expect(metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
      const expected: Record<string, string> = {
        f64: 'F64',
        f32: 'F32',
        f16: 'F16',
        bf16: 'BF16',
        i64: 'I64',
        i32: 'I32',
        i16: 'I16',
        i8: 'I8',
        u8: 'U8',
        bool: 'BOOL',
        scalar: 'F32',
        empty: 'F32',
      };
      for (const [name, dtype] of Object.entries(expected)) {
        expect(dtypes.get(name), name).toBe(dtype);
        const t = tensors.get(name)!;
        const want = tensors.get(`expect.${name}`)!;
        expect(t.shape, name).toEqual(want.shape);
        expect(t.dtype, name).toBe(
          dtype === 'F64' ? 'f64' : dtype.startsWith('F') || dtype === 'BF16' ? 'f32' : 'i32',
        );
        expect(Array.from(t.dataSync()), name).toEqual(Array.from(want.dataSync()));
      }
      expect(tensors.get('scalar')!.shape).toEqual([]);
      expect(Array.from(tensors.get('i64')!.dataSync())).toEqual([0, -1, 2147483647, -2147483648]);
    });
  });

  it('our writer reproduces the reference layout byte for byte (every fixture with F32/F64/I32 only)', () => {
    const files = readdirSync(FIXTURES).filter(
      (f) => f.endsWith('.safetensors') && f !== 'dtypes.safetensors',
    );
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      tidy(() => {
        const bytes = fixture(f);
        const { tensors, metadata } = readSafetensors(bytes);
        expect(Buffer.from(writeSafetensors(tensors, metadata)).equals(Buffer.from(bytes)), f).toBe(true);
      });
    }
  });
});

describe('safetensors: writing', () => {
  it('sorts by dtype (descending) then name, puts __metadata__ first and pads the header with spaces', () => {
    tidy(() => {
      const bytes = writeSafetensors(
        {
          b: tensor([1, 2]),
          a: tensor([3]),
          z: tensor([0.5], { dtype: 'f64' }),
          i: tensor([[7]], { dtype: 'i32' }),
        },
        { zeta: '1', alpha: '"quoted"\n' },
      );
      const n = new DataView(bytes.buffer).getUint32(0, true);
      expect(n % 8).toBe(0);
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      expect(header.trimEnd()).toBe(
        '{"__metadata__":{"alpha":"\\"quoted\\"\\n","zeta":"1"},' +
          '"z":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
          '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
          '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},' +
          '"i":{"dtype":"I32","shape":[1,1],"data_offsets":[20,24]}}',
      );
      expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
      expect(bytes.length).toBe(8 + n + 24);
      expect(new Float64Array(bytes.slice(8 + n, 16 + n).buffer)[0]).toBe(0.5);
    });
  });

  it('round-trips any tensors and metadata: same names, shapes, dtypes and data bytes', async () => {
    const name = fc
      .string({ unit: 'grapheme', minLength: 0, maxLength: 6 })
      .filter((s) => s !== '__metadata__');
    const entry = fc.record({
      dtype: fc.constantFrom('f32' as const, 'f64' as const, 'i32' as const),
      shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(name, entry, { maxKeys: 5 }),
        fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
        async (spec, metadata) => {
          tidy(() => {
            const tensors = new Map<string, Tensor>();
            for (const [k, e] of Object.entries(spec)) {
              const rng = new Rng(e.seed);
              const n = e.shape.reduce((a, b) => a * b, 1);
              const v = Array.from({ length: n }, () =>
                e.dtype === 'i32' ? rng.int(2000) - 1000 : rng.normal(),
              );
              tensors.set(
                k,
                tensor(e.dtype === 'f64' ? Float64Array.from(v) : v, e.shape, { dtype: e.dtype }),
              );
            }
            const bytes = writeSafetensors(tensors, metadata);
            const back = readSafetensors(bytes);
            expect(back.metadata).toEqual(metadata);
            expect(new Set(back.tensors.keys())).toEqual(new Set(tensors.keys()));
            for (const [k, t] of tensors) {
              const u = back.tensors.get(k)!;
              expect(u.shape).toEqual(t.shape);
              expect(u.dtype).toBe(t.dtype);
              const a = t.dataSync();
              const b = u.dataSync();
              expect(
                Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(
                  Buffer.from(a.buffer, a.byteOffset, a.byteLength),
                ),
              ).toBe(true);
            }
            expect(
              Buffer.from(writeSafetensors(back.tensors, back.metadata)).equals(Buffer.from(bytes)),
            ).toBe(true);
          });
        },
      ),
      { numRuns: 60, seed: 5 },
    );
    const t = tensor([1, 2]);
    expect(await writeSafetensorsAsync({ t }, { a: 'b' })).toEqual(writeSafetensors({ t }, { a: 'b' }));
  });

  it('rejects what it cannot write, clearly', () => {
    expect(caught(() => writeSafetensors({ __metadata__: tensor([1]) })).message).toMatch(
      /expected tensor names other than __metadata__/,
    );
    expect(caught(() => writeSafetensors({ a: [1, 2] as unknown as Tensor })).message).toMatch(
      /expected a Tensor for 'a', found object/,
    );
    expect(caught(() => writeSafetensors({}, { n: 1 as unknown as string })).message).toMatch(
      /expected string metadata values, found number for 'n'/,
    );
  });
});

describe('safetensors: malformed files give a SafetensorsError naming the problem', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'shorter than 8 bytes',
      new Uint8Array(5),
      /the file is 5 bytes, too short for the 8-byte header length/,
    ],
    [
      'a header length past the limit',
      Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0]),
      /header length 4294967296 exceeds the limit/,
    ],
    [
      'a header past the end',
      file(ok, f32(1, 2)).subarray(0, 20),
      /the header of \d+ bytes runs past the end of the file/,
    ],
    [
      'invalid UTF-8',
      file(null, new Uint8Array(), '{"\xff":1}').map((b, i) => (i === 10 ? 0xff : b)),
      /not valid UTF-8/,
    ],
    ['bad JSON', file(null, new Uint8Array(), '{"a": '), /the header is not valid JSON/],
    ['JSON that is not an object', file([1, 2]), /the header is JSON but not an object \(found an array\)/],
    [
      'an entry that is not an object',
      file({ a: 3 }),
      /tensor 'a': expected an object \{dtype, shape, data_offsets\}, found 3/,
    ],
    [
      'an unknown dtype',
      file({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)),
      /tensor 'a': unknown dtype "F128"/,
    ],
    [
      'a bad shape',
      file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)),
      /shape must be an array of non-negative integers, found \[-1\]/,
    ],
    [
      'reversed offsets',
      file({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)),
      /data_offsets must be \[begin, end\] with 0 <= begin <= end, found \[4,0\]/,
    ],
    [
      'offsets that do not fit the shape',
      file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)),
      /shape \[3\] of F32 needs 3 × 4 = 12 bytes, but data_offsets \[0, 8\] hold 8/,
    ],
    [
      'overlapping tensors',
      file(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        f32(1, 2),
      ),
      /tensor 'b' starts at data offset 4, so it overlaps tensor 'a', which ends at 8/,
    ],
    [
      'a gap',
      file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
      /tensor 'a' starts at data offset 4, so it leaves a gap after the start of the data section/,
    ],
    [
      'trailing bytes',
      file(ok, f32(1, 2, 3)),
      /cover 8 bytes of data but the data section has 12: trailing bytes/,
    ],
    [
      'truncated data',
      file(ok, f32(1)),
      /need 8 bytes of data but the data section has only 4: the file is truncated/,
    ],
    [
      'metadata that is not strings',
      file({ __metadata__: { a: 1 } }),
      /__metadata__ value of 'a' must be a string/,
    ],
    [
      'I64 values outside i32',
      file(
        { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
        Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0]),
      ),
      /tensor 'a': I64 value 4294967296 at index 0 does not fit in i32/,
    ],
    [
      'an unreadable dtype',
      file({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /dtype F8_E4M3 cannot be read/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const e = caught(() => readSafetensors(bytes));
      expect(e).toBeInstanceOf(SafetensorsError);
      expect(e.message).toMatch(/^safetensors: /);
      expect(e.message).toMatch(message);
    });
  }

  it('accepts the edge cases the format allows: no tensors, zero-size tensors, unaligned offsets', () => {
    expect(readSafetensors(file({})).tensors.size).toBe(0);
    const zero = readSafetensors(file({ e: { dtype: 'F64', shape: [0, 2], data_offsets: [0, 0] } }));
    expect(zero.tensors.get('e')!.shape).toEqual([0, 2]);
    const unaligned = readSafetensors(
      file(
        {
          a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
          b: { dtype: 'F32', shape: [1], data_offsets: [1, 5] },
        },
        Uint8Array.from([9, ...f32(1.5)]),
      ),
    );
    expect(Array.from(unaligned.tensors.get('b')!.dataSync())).toEqual([1.5]);
    expect(parseSafetensorsHeader(file(ok, f32(1, 2))).entries[0]).toEqual({
      name: 'a',
      dtype: 'F32',
      shape: [2],
      dataOffsets: [0, 8],
    });
  });
});

describe('safetensors: fuzzing', () => {
  const valid = fixture('dtypes.safetensors');
  const small = fixture('rnn_tanh_l1.safetensors');

  /** Reading either succeeds or throws a SafetensorsError, never anything else. */
  function readsCleanly(bytes: Uint8Array): void {
    tidy(() => {
      try {
        readSafetensors(bytes);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw e;
      }
    });
  }

  it('random byte changes, insertions and deletions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(valid, small),
        fc.array(
          fc.record({
            at: fc.nat(),
            kind: fc.constantFrom('set', 'insert', 'delete'),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (base, edits) => {
          const bytes = Array.from(base);
          for (const e of edits) {
            // Bias edits toward the length prefix and the header, where the structure is.
            const limit = e.at % 3 === 0 ? bytes.length : Math.min(bytes.length, 600);
            const i = e.at % Math.max(1, limit);
            if (e.kind === 'set') bytes[i] = e.byte;
            else if (e.kind === 'insert') bytes.splice(i, 0, e.byte);
            else bytes.splice(i, 1);
          }
          readsCleanly(Uint8Array.from(bytes));
        },
      ),
      { numRuns: 400, seed: 9 },
    );
  });

  it('truncation at every length', () => {
    for (let n = 0; n < small.length; n += 7) {
      const e = caught(() => readSafetensors(small.subarray(0, n)));
      expect(e).toBeInstanceOf(SafetensorsError);
    }
  });

  it('random header values in a well-formed frame', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer({ min: -3, max: 40 }),
      fc.double(),
      fc.constant(null),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
      fc.constantFrom('F32', 'F64', 'I64', 'BF16', 'BOOL', 'F8_E5M2', 'U64', '__metadata__'),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('a', 'b', '__metadata__', '__proto__', 'constructor'),
          fc.oneof(
            fc.record({ dtype: value, shape: value, data_offsets: value }, { requiredKeys: [] }),
            value,
          ),
        ),
        fc.integer({ min: 0, max: 40 }),
        (header, dataLength) => {
          readsCleanly(file(header, new Uint8Array(dataLength).fill(0x3f)));
        },
      ),
      { numRuns: 400, seed: 10 },
    );
  });
});
