// Speculative decoding pieces (n-gram proposer, rejection sampler, config). Not yet re-exported from
// the engine's `src/index.ts`; see README.md for the wiring.
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
