// Public surface of @vllm-ts/block-allocator.
export { BlockPool } from './block-pool.js';
export type { BlockPoolOptions } from './block-pool.js';
export { FreeBlockQueue } from './free-block-queue.js';
export { BlockError } from './block-error.js';
export type { BlockErrorCode } from './block-error.js';
// V0 extras (scheduler-v0): per-sequence tables, watermark, copy-on-write fork, CPU swap pool.
export { BlockSpaceManager } from './v0/block-space-manager.js';
export type { BlockSpaceManagerOptions, V0Sequence, BlockPair, SeqTable } from './v0/block-table.js';
export { watermarkStatus } from './v0/alloc-status.js';
export type { AllocStatus } from './v0/alloc-status.js';
export { BlockTableError } from './v0/block-table-error.js';
export type { BlockTableErrorCode } from './v0/block-table-error.js';
