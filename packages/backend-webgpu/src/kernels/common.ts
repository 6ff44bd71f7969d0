import type { DType } from '@recur/tensor';
import { wgslType } from '../wgsl.js';

/** Threads per workgroup of the one-dimensional kernels. */
export const WG = 128;

/** A storage binding of a kernel: one distinct device buffer, read-only or read-write. */
export interface BindingSlot<B> {
  readonly buffer: B;
  readonly dtype: DType;
  write: boolean;
}

/**
 * Binds each distinct buffer once. WebGPU forbids binding one buffer as read-only storage and as
 * writable storage in the same dispatch, so a buffer that any operand writes is bound once,
 * read-write, and every operand on it (an in-place input, several outputs placed in one wider
 * matrix) goes through that binding. Returns the slots and each operand's slot index.
 */
export function planBindings<B>(
  operands: readonly { readonly buffer: B; readonly dtype: DType; readonly write: boolean }[],
): { slots: BindingSlot<B>[]; index: number[] } {
  const slots: BindingSlot<B>[] = [];
  const index = operands.map((o) => {
    let k = slots.findIndex((s) => s.buffer === o.buffer);
    if (k < 0) {
      k = slots.length;
      slots.push({ buffer: o.buffer, dtype: o.dtype, write: o.write });
    } else if (o.write) {
      slots[k]!.write = true;
    }
    return k;
  });
  return { slots, index };
}

/** The part of a pipeline's identity that its bindings contribute (types, access, aliasing). */
export function slotsKey<B>(slots: readonly BindingSlot<B>[], index: readonly number[]): string {
  return `${slots.map((s) => `${s.dtype}${s.write ? 'w' : 'r'}`).join('')}/${index.join('.')}`;
}

/** WGSL declarations of the uniform parameter block and the storage bindings (`b0`, `b1`, ...). */
export function declarations<B>(slots: readonly BindingSlot<B>[], paramCount: number): string {
  const vec4s = paramVec4s(paramCount);
  const lines = [
    `struct Params { v: array<vec4<i32>, ${vec4s}> }`,
    '@group(0) @binding(0) var<uniform> prm: Params;',
    ...slots.map(
      (s, i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${s.write ? 'read_write' : 'read'}> b${i}: array<${wgslType(s.dtype)}>;`,
    ),
  ];
  return lines.join('\n');
}

/** Number of vec4<i32> in a parameter block holding `count` values (at least one). */
export function paramVec4s(count: number): number {
  return Math.max(1, Math.ceil(count / 4));
}

/** WGSL for parameter j of the uniform block. */
export function P(j: number): string {
  return `prm.v[${j >> 2}][${j & 3}]`;
}

/** Linear invocation index of a 1-D kernel dispatched as a 2-D grid when large. */
export const LINEAR_INDEX = `i32(gid.x + gid.y * nwg.x * ${WG}u)`;
export const MAIN_1D = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;
