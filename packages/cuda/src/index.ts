// Public surface of @vllm-ts/cuda: an explicit list, filled in by its issue.
export {};
