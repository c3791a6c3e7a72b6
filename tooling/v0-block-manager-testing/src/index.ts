// Public surface of @vllm-ts/v0-block-manager-testing (private, for the V0 block managers' property tests).
export { v0BlockManagerProperty, runV0Operations, v0PropertyFailure, emptyV0RunStats, distinctPrompt, sharedPrefixPrompt } from './v0-random-operations.js';
export type { V0BlockManagerFlavour, V0RunStats } from './v0-random-operations.js';
export { v0Operation } from './v0-operations.js';
export type { V0Operation, V0OperationOptions, MisuseVariant } from './v0-operations.js';
export { ReferenceModel, slotValue } from './reference-model.js';
export type { ModelSequence } from './reference-model.js';
export { checkV0Invariants, checkV0Drained } from './v0-invariants.js';
export type { V0InvariantSubject } from './v0-invariants.js';
export type { DrivenV0BlockManager, DrivenSequence, DrivenBlockPair, DrivenAllocStatus, DrivenBlockPool, DrivenManagerSizes, ManagerUnderTest } from './v0-block-manager.js';
