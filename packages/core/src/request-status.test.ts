import { describe, expect, it } from 'vitest';
import { RequestStatus, finishReasonOf, isFinished, requestStatusName } from './request-status.js';

describe('RequestStatus', () => {
  it('is declared in lifecycle order', () => {
    const values = Object.values(RequestStatus);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it('isFinished is true exactly for the finished statuses', () => {
    const finished = Object.entries(RequestStatus)
      .filter(([, v]) => isFinished(v))
      .map(([k]) => k);
    expect(finished).toEqual([
      'FINISHED_STOPPED',
      'FINISHED_LENGTH_CAPPED',
      'FINISHED_ABORTED',
      'FINISHED_IGNORED',
      'FINISHED_ERROR',
    ]);
  });

  it('maps finished statuses to finish reasons as vLLM does', () => {
    expect(finishReasonOf(RequestStatus.FINISHED_STOPPED)).toBe('stop');
    expect(finishReasonOf(RequestStatus.FINISHED_LENGTH_CAPPED)).toBe('length');
    expect(finishReasonOf(RequestStatus.FINISHED_IGNORED)).toBe('length');
    expect(finishReasonOf(RequestStatus.FINISHED_ABORTED)).toBe('abort');
    expect(finishReasonOf(RequestStatus.FINISHED_ERROR)).toBe('error');
  });

  it('names statuses', () => {
    expect(requestStatusName(RequestStatus.PREEMPTED)).toBe('PREEMPTED');
  });
});
