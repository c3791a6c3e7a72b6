import type { UserWorkspaceConfig } from 'vitest/config';
/** Shared vitest project preset. */
export declare function definePackageTests(name: string, test?: UserWorkspaceConfig['test']): UserWorkspaceConfig;
