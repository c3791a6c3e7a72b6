// Public surface of @vllm-ts/tokenizer: an explicit list, filled in by its issue.
export {};
