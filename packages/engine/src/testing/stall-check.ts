import { expect } from 'vitest';
import { STALL_STEPS, type EngineCore } from '../core/engine-core.js';

/**
 * Steps `core` until it reports something and checks that it is the stall guard: exactly
 * {@link STALL_STEPS} empty steps, then request `reqId` failed with `error`, one `scheduler_stalled`
 * error reported and nothing left to do.
 * @param core an engine core whose only request can never be scheduled
 * @param reqId that request's id
 * @param errors what the core's `onError` collected
 */
export function expectStallGuard(core: EngineCore, reqId: string, errors: readonly unknown[]): void {
  let steps = 0;
  let out = null;
  while (out === null && steps < 2 * STALL_STEPS) {
    out = core.step();
    steps++;
  }
  expect(steps).toBe(STALL_STEPS);
  expect(out!.outputs.toArray()).toEqual([expect.objectContaining({ reqId, finishReason: 'error' })]);
  expect(errors).toEqual([expect.objectContaining({ code: 'scheduler_stalled' })]);
  expect(core.hasWork()).toBe(false);
}
