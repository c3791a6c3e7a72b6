import { describe, expect, it } from 'vitest';
import { requestId, resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { resolveInFlightTokens, type InFlightStep } from './cuda-in-flight.js';
import type { ScheduledRequest } from './forward-batch-builder.js';
import type { RequestState } from './request-state.js';

// The host half of async scheduling on the CUDA runner: which input tokens a step gathers on the
// device from the previous step's sampled ids, and which force that step to finish first.

function state(id: string, prompt: number, outputs: number, computed: number, init: SamplingParamsInit = {}): RequestState {
  return {
    reqId: requestId(id),
    params: resolveSamplingParams({ temperature: 0, ...init }),
    numPromptTokens: prompt,
    tokens: Array.from({ length: prompt + outputs }, (_, i) => 100 + i),
    blockTable: [1, 2, 3, 4],
    numComputedTokens: computed,
    generator: null,
    preempted: false,
    promptLogprobsNext: 0,
  };
}

const step = (slot: number, hostWork = false): InFlightStep => ({
  slot,
  event: null,
  deviceRows: [],
  hostWork: hostWork ? () => {} : null,
  kind: 'decode-eager',
  numTokens: 1,
  output: null,
});

const sched = (s: RequestState, n: number): ScheduledRequest => ({ state: s, numScheduledTokens: n, drafts: [] });

describe('resolveInFlightTokens', () => {
  it('gathers a decode row\'s in-flight token from the last device step, at its flat batch position', () => {
    const prefill = state('p', 5, 0, 0); // 5 prompt tokens, all scheduled now
    const decode = state('d', 4, 2, 6); // 6 known, the 7th (position 6) is being sampled
    const last = step(1);
    const finished: InFlightStep[] = [];
    const out = resolveInFlightTokens([sched(prefill, 5), sched(decode, 1)], new Map([[decode, { step: last, row: 3 }]]), last, (s) => finished.push(s));
    expect(out).toEqual({ dstIdx: [5], srcIdx: [3], placeholders: [decode] });
    expect(decode.tokens).toHaveLength(7); // placeholder pushed (the caller pops it after building the batch)
    expect(finished).toEqual([]);
  });

  it.each<[string, SamplingParamsInit, boolean]>([
    ['logprobs', { logprobs: 1 }, true],
    ['a repetition penalty', { repetitionPenalty: 1.2 }, true],
    ['min tokens not reached with the in-flight token', { minTokens: 4 }, true],
    ['min tokens reached with the in-flight token', { minTokens: 3 }, false],
  ])('a request with %s finishes the previous step first: %s', (_, init, mustFinish) => {
    const s = state('r', 4, 2, 6, init);
    const last = step(0);
    const finished: InFlightStep[] = [];
    const out = resolveInFlightTokens([sched(s, 1)], new Map([[s, { step: last, row: 0 }]]), last, (f) => {
      finished.push(f);
      s.tokens.push(7); // what finish() does: the step's token reaches the host
    });
    expect(finished.length).toBe(mustFinish ? 1 : 0);
    expect(out.dstIdx).toEqual(mustFinish ? [] : [0]);
    expect(s.tokens).toHaveLength(7);
  });

  it('finishes a step whose ids the device buffer no longer holds, or that has host rows', () => {
    for (const [pendingStep, last] of [
      [step(0), step(1)],
      [step(0, true), null],
    ] as const) {
      const s = state('r', 2, 1, 3);
      const finished: InFlightStep[] = [];
      resolveInFlightTokens([sched(s, 1)], new Map([[s, { step: pendingStep, row: 0 }]]), last ?? pendingStep, (f) => {
        finished.push(f);
        s.tokens.push(9);
      });
      expect(finished).toEqual([pendingStep]);
    }
  });

  it('finishes before pushing any placeholder: a later row needing the host does not corrupt an earlier gathered one', () => {
    const plain = state('a', 3, 1, 4);
    const withLogprobs = state('b', 3, 1, 4, { logprobs: 0 });
    const last = step(0);
    const pending = new Map([
      [plain, { step: last, row: 0 }],
      [withLogprobs, { step: last, row: 1 }],
    ]);
    const out = resolveInFlightTokens([sched(plain, 1), sched(withLogprobs, 1)], pending, last, () => {
      // finish() appends the step's tokens and forgets them as pending.
      plain.tokens.push(41);
      withLogprobs.tokens.push(42);
      pending.clear();
    });
    expect(out).toEqual({ dstIdx: [], srcIdx: [], placeholders: [] });
    expect(plain.tokens.at(-1)).toBe(41);
    expect(withLogprobs.tokens.at(-1)).toBe(42);
  });

  it('leaves rows whose tokens are known alone, and refuses an unknown token with nothing in flight', () => {
    const known = state('k', 3, 1, 3);
    expect(resolveInFlightTokens([sched(known, 1)], new Map(), null, () => {})).toEqual({ dstIdx: [], srcIdx: [], placeholders: [] });
    const orphan = state('o', 3, 1, 4);
    expect(() => resolveInFlightTokens([sched(orphan, 1)], new Map(), null, () => {})).toThrow(/unknown and none in flight/);
  });
});
