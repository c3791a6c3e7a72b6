// Public surface of @vllm-ts/prefix-cache: an explicit list, filled in by its issue.
export {};
