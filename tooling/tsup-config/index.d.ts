import type { Options } from 'tsup';
/** Shared tsup preset: ESM, Node 20, declarations; pass overrides for extra entries. */
export declare function defineLibrary(overrides?: Options): Options | Options[] | ((overrideOptions: Options) => Options | Options[]);
