// Public surface of @vllm-ts/scheduler-v1: an explicit list, filled in by its issue.
export {};
