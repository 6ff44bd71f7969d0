import { defineConformanceSuite } from '@recur/tensor/testkit';
import { describe, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

defineConformanceSuite('wasm, 1 thread', () => WasmBackend.create({ threads: 1 }), { describe, it });
defineConformanceSuite('wasm, 2 threads', () => WasmBackend.create({ threads: 2 }), { describe, it });
