import type { FinishReason } from './finish-reason.js';

/**
 * A request's place in its lifecycle. The values are declared in lifecycle order: every status
 * after `SWAPPED` is a finished one, so {@link isFinished} is a single comparison.
 * `SWAPPED` is used by the V0 scheduler only.
 */
export const RequestStatus = {
  WAITING: 0,
  RUNNING: 1,
  PREEMPTED: 2,
  SWAPPED: 3,
  FINISHED_STOPPED: 4,
  FINISHED_LENGTH_CAPPED: 5,
  FINISHED_ABORTED: 6,
  FINISHED_IGNORED: 7,
  FINISHED_ERROR: 8,
} as const;

/** One of the {@link RequestStatus} values. */
export type RequestStatus = (typeof RequestStatus)[keyof typeof RequestStatus];

/** A finished {@link RequestStatus}. */
export type FinishedStatus =
  | typeof RequestStatus.FINISHED_STOPPED
  | typeof RequestStatus.FINISHED_LENGTH_CAPPED
  | typeof RequestStatus.FINISHED_ABORTED
  | typeof RequestStatus.FINISHED_IGNORED
  | typeof RequestStatus.FINISHED_ERROR;

const NAMES = Object.fromEntries(Object.entries(RequestStatus).map(([k, v]) => [v, k])) as Record<RequestStatus, string>;

/**
 * True when the status is one of the finished ones.
 * @param status any request status
 */
export function isFinished(status: RequestStatus): status is FinishedStatus {
  return status > RequestStatus.SWAPPED;
}

/**
 * The finish reason reported to users for a finished status (`IGNORED` reports `length`, as vLLM does).
 * @param status a finished status
 */
export function finishReasonOf(status: FinishedStatus): FinishReason {
  switch (status) {
    case RequestStatus.FINISHED_STOPPED:
      return 'stop';
    case RequestStatus.FINISHED_LENGTH_CAPPED:
    case RequestStatus.FINISHED_IGNORED:
      return 'length';
    case RequestStatus.FINISHED_ABORTED:
      return 'abort';
    case RequestStatus.FINISHED_ERROR:
      return 'error';
  }
}

/**
 * The status's name (`WAITING`, `FINISHED_STOPPED`, ...), for logs and error messages.
 * @param status any request status
 */
export function requestStatusName(status: RequestStatus): string {
  return NAMES[status] ?? `UNKNOWN(${String(status)})`;
}
