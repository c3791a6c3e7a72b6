// Public surface of @vllm-ts/engine: an explicit list, filled in by its issue.
export {};
