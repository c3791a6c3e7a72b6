// Speculative decoding (n-gram proposer, rejection sampler, config). The engine's `src/index.ts`
// re-exports all but the RejectionSampler, which the model runners use internally.
export { NgramIndex, TOKEN_ID_LIMIT, type NgramMatch } from './ngram-index.js';
export { NgramProposer, findNgramDraft, type NgramProposerOptions } from './ngram-proposer.js';
export { RejectionSampler, type DraftVerification, type RejectionSampleResult } from './rejection-sampler.js';
export {
  MAX_NUM_SPECULATIVE_TOKENS,
  resolveSpeculativeConfig,
  type ResolvedSpeculativeConfig,
  type SpeculativeConfigInput,
} from './speculative-config.js';
export { SpeculativeDecodingRequiresV1Error } from './speculative-decoding-requires-v1-error.js';
