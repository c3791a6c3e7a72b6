// Public surface of @vllm-ts/scheduler-v0: an explicit list, filled in by its issue.
export {};
