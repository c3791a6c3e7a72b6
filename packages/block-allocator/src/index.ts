// Public surface of @vllm-ts/block-allocator: an explicit list, filled in by its issue.
export {};
