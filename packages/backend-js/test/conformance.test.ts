import { defineConformanceSuite } from '@recur/tensor/testkit';
import { describe, it } from 'vitest';
import { JsBackend } from '../src/index.js';

defineConformanceSuite('js', () => new JsBackend(), { describe, it });
