import type { UserConfig } from 'vitest/config';

export declare function defineRecurConfig(overrides?: UserConfig): UserConfig;
