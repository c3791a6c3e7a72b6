import { invariant, type ModelRunnerOutput } from '@vllm-ts/core';
import { allocPinned, CudaEvent, DeviceTensor, type CudaStream } from '@vllm-ts/cuda';
import type { ScheduledRequest } from './forward-batch-builder.js';
import type { RequestState } from './request-state.js';
import type { CudaStepKind } from './cuda-step-timer.js';
import { paramsSampleOnDevice } from './cuda-sampler.js';

/** A row the device sampled: its token lands at `row` of the step's pinned id slot. */
export interface DeviceRow {
  readonly state: RequestState;
  readonly row: number;
}

/**
 * One submitted step of the CUDA runner, holding what `collect` needs from submit time (request
 * states by reference: the next step's `finishedReqIds` may drop them from the runner's map).
 */
export interface InFlightStep {
  /** Slot index (0 or 1) of its pinned ids, event and gather indices. */
  readonly slot: number;
  /** Recorded after the step's last launch and its id copy. */
  readonly event: CudaEvent | null;
  readonly deviceRows: readonly DeviceRow[];
  /** Host sampling of the remaining rows: reads the step's logits, so it runs before the next forward. */
  readonly hostWork: ((out: import('./runner-output-builder.js').RunnerOutputBuilder) => void) | null;
  readonly kind: CudaStepKind;
  readonly numTokens: number;
  /** Set once the step's tokens are on the host and appended to the request states. */
  output: ModelRunnerOutput | null;
}

/**
 * Pinned and device resources per in-flight slot: the copied-back sampled ids, the completion
 * event, and the staging of token-gather indices. Step k uses slot k mod 2; with at most two steps
 * in flight, a slot is reused only after its previous step was collected.
 */
export class CudaStepSlots {
  readonly ids: readonly [Int32Array, Int32Array];
  readonly events: readonly [CudaEvent, CudaEvent];
  readonly gatherStaging: readonly [Int32Array, Int32Array];
  readonly gatherIndices: readonly [DeviceTensor, DeviceTensor];

  /**
   * @param numIds sampled rows a step copies back at most
   * @param numGather gathered tokens a step needs at most
   */
  constructor(numIds: number, numGather: number) {
    const pinnedInts = (n: number) => new Int32Array(allocPinned(Math.max(1, n) * 4));
    this.ids = [pinnedInts(numIds), pinnedInts(numIds)];
    this.gatherStaging = [pinnedInts(2 * numGather), pinnedInts(2 * numGather)];
    this.events = [CudaEvent.create(), CudaEvent.create()];
    const a = DeviceTensor.empty([Math.max(2, 2 * numGather)], 'int32');
    try {
      this.gatherIndices = [a, DeviceTensor.empty([Math.max(2, 2 * numGather)], 'int32')];
    } catch (error) {
      a.free();
      throw error;
    }
  }

  /** Frees the device and event resources (synchronize first); pinned memory goes with GC. */
  free(): void {
    for (const t of this.gatherIndices) t.free();
    for (const e of this.events) e.destroy();
  }
}

/** Where the tokens a step's rows need but the host does not hold yet come from. */
export interface InFlightTokens {
  /** Flat batch positions to fill on the device. */
  readonly dstIdx: number[];
  /** Their rows in the last device-sampled step's id buffer. */
  readonly srcIdx: number[];
  /** States given a placeholder token, to pop once the batch is built. */
  readonly placeholders: RequestState[];
}

/**
 * Finds the scheduled requests whose last input token is still being sampled by an in-flight step
 * (async scheduling schedules a decode before its previous token is known). A token the device
 * can gather — sampled on the device by the last step that sampled there, for a request that
 * samples on the device again — gets a placeholder and a gather entry; any other in-flight token
 * is first brought to the host with `finish(step)`.
 * @param scheduled the step's requests, in batch order
 * @param pending in-flight device rows by request state
 * @param lastDeviceStep the step whose ids the device buffer holds now
 * @param finish finishes a step (and every older one): its tokens are appended to the states
 * @returns gather entries and placeholders (already pushed onto the states' tokens)
 */
export function resolveInFlightTokens(
  scheduled: readonly ScheduledRequest[],
  pending: ReadonlyMap<RequestState, { step: InFlightStep; row: number }>,
  lastDeviceStep: InFlightStep | null,
  finish: (step: InFlightStep) => void,
): InFlightTokens {
  const missingOf = (r: ScheduledRequest) => r.state.numComputedTokens + r.numScheduledTokens - r.drafts.length - r.state.tokens.length;
  // First bring every token the device cannot supply to the host (finishing a step appends tokens,
  // so no placeholder may be pushed before).
  for (const r of scheduled) {
    const s = r.state;
    const missing = missingOf(r);
    if (missing <= 0) continue;
    const p = pending.get(s);
    invariant(p && missing === 1, () => `request ${s.reqId}: ${missing} input token(s) unknown and none in flight`);
    const numOutput = s.tokens.length + 1 - s.numPromptTokens;
    if (p.step !== lastDeviceStep || p.step.hostWork !== null || !paramsSampleOnDevice(s.params, numOutput)) finish(p.step);
  }
  const out: InFlightTokens = { dstIdx: [], srcIdx: [], placeholders: [] };
  let offset = 0;
  for (const r of scheduled) {
    const s = r.state;
    if (missingOf(r) > 0) {
      const p = pending.get(s);
      invariant(p && p.step === lastDeviceStep, () => `request ${s.reqId}: its in-flight token is not in the device's sampled ids`);
      out.dstIdx.push(offset + s.tokens.length - s.numComputedTokens);
      out.srcIdx.push(p.row);
      out.placeholders.push(s);
      s.tokens.push(0);
    }
    offset += r.numScheduledTokens;
  }
  return out;
}

/**
 * Enqueues the copy of a step's sampled ids into its pinned slot and records its event.
 * @param ids device ids of the step's rows (or null: nothing sampled on the device)
 * @param slots the runner's slots
 * @param slot this step's slot
 * @param stream the runner's stream
 * @param copy the async device-to-host copy
 */
export function recordStepEnd(
  ids: DeviceTensor | null,
  slots: CudaStepSlots,
  slot: number,
  stream: CudaStream,
  copy: (dst: Int32Array, src: DeviceTensor, stream: CudaStream) => void,
): CudaEvent {
  if (ids !== null) copy(slots.ids[slot]!.subarray(0, ids.numel), ids, stream);
  const event = slots.events[slot]!;
  event.record(stream);
  return event;
}
