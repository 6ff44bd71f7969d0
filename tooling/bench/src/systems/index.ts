import { ORT_SYSTEMS } from './ort.js';
import { PYTORCH_SYSTEMS } from './pytorch.js';
import { RECUR_SYSTEMS } from './recur.js';
import { TFJS_SYSTEMS } from './tfjs.js';
import type { SystemSpec } from './types.js';

export type { Runner, SystemModule, SystemSpec } from './types.js';

/** Every system the suite knows, ours first. */
export const SYSTEMS: readonly SystemSpec[] = [
  ...RECUR_SYSTEMS,
  ...TFJS_SYSTEMS,
  ...ORT_SYSTEMS,
  ...PYTORCH_SYSTEMS,
];
