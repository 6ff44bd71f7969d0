import { type Backend, type BackendBuffer, Rng } from '@recur/tensor';

/** A new f32 buffer on `b` holding `data`. */
export function upload(b: Backend, data: Float32Array): BackendBuffer {
  const buf = b.alloc('f32', data.length);
  b.write(buf, data);
  return buf;
}

/** `n` standard normal values from a seeded generator. */
export function randomF32(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}
