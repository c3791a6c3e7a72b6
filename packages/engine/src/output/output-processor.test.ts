import { describe, expect, it } from 'vitest';
import { EngineCoreOutputBatch, makeEmptySchedulerStats, requestId, resolveSamplingParams } from '@vllm-ts/core';
import type { EngineCoreOutput, SamplingParamsInit, SchedulerStats } from '@vllm-ts/core';
import { OutputProcessor, fanOut } from './output-processor.js';
import type { OutputKind } from './request-output.js';
import { findStopString } from './stop-strings.js';

// A character-piece vocabulary: id i decodes to PIECES[i]; id 0 is the special EOS "</s>".
const PIECES = ['</s>', 'Hel', 'lo W', 'orld', '!', 'ab', 'cS', 'TO', 'P', ' x'];
const detok = ({ skipSpecialTokens }: { skipSpecialTokens: boolean }) => ({
  push: (ids: readonly number[]) => ids.map((i) => (i === 0 && skipSpecialTokens ? '' : PIECES[i]!)).join(''),
});

const STATS: SchedulerStats = makeEmptySchedulerStats();

function out(id: string, tokens: number[], extra: Partial<EngineCoreOutput> = {}): EngineCoreOutput {
  return {
    reqId: requestId(id),
    newTokenIds: tokens,
    finishReason: null,
    stopReason: null,
    newLogprobs: null,
    newPromptLogprobs: null,
    numCachedTokens: 0,
    events: [],
    ...extra,
  };
}

function setup(params: SamplingParamsInit, kind: OutputKind = 'cumulative', id = 'r') {
  const p = new OutputProcessor(detok);
  p.addRequest({
    requestId: id,
    prompt: 'p',
    promptTokenIds: [1, 2, 3],
    params: resolveSamplingParams({ maxTokens: 50, ...params }),
    outputKind: kind,
    arrivalTime: 100,
    maxTokensParam: 50,
  });
  let ts = 100;
  const step = (...outs: EngineCoreOutput[]) => p.processOutputs({ outputs: EngineCoreOutputBatch.from(outs), schedulerStats: STATS, timestamp: (ts += 1) });
  return { p, step };
}

describe('findStopString', () => {
  it('finds a stop string completed by the new characters only, first listed wins', () => {
    expect(findStopString('abcSTOP', 2, ['STOP'], false)).toEqual({ stop: 'STOP', truncateTo: 3 });
    expect(findStopString('STOPabc', 2, ['STOP'], false)).toBeNull();
    expect(findStopString('abcSTOP', 1, ['STOP'], true)).toEqual({ stop: 'STOP', truncateTo: -1 });
    expect(findStopString('xSTOPyz', 3, ['STOP'], true)).toEqual({ stop: 'STOP', truncateTo: 5 });
    expect(findStopString('a-b-c', 3, ['c', '-b'], false)).toEqual({ stop: 'c', truncateTo: 4 });
    expect(findStopString('abc', 0, ['c'], false)).toBeNull();
  });
});

describe('OutputProcessor', () => {
  it('cuts a stop string that spans token boundaries and asks the engine to abort', () => {
    const { step } = setup({ stop: ['lo Wor'] });
    expect(step(out('r', [1])).requestOutputs[0]!.outputs[0]!.text).toBe(''); // held back: could start 'lo Wor'
    const r = step(out('r', [2, 3]));
    const c = r.requestOutputs[0]!.outputs[0]!;
    expect(c).toMatchObject({ text: 'Hel', tokenIds: [1, 2, 3], finishReason: 'stop', stopReason: 'lo Wor' });
    expect(r.requestOutputs[0]!.finished).toBe(true);
    expect(r.reqsToAbort).toEqual(['r']);
    // Tokens already in flight for the finished request are dropped.
    expect(step(out('r', [4])).requestOutputs).toEqual([]);
  });

  it('keeps the stop string with includeStopStrInOutput', () => {
    const { step } = setup({ stop: ['lo W'], includeStopStrInOutput: true });
    const c = step(out('r', [1, 2, 3])).requestOutputs[0]!.outputs[0]!;
    expect(c.text).toBe('Hello W');
  });

  it('ignores stop strings until more than minTokens tokens exist', () => {
    const { step } = setup({ stop: ['Hel'], minTokens: 1 });
    expect(step(out('r', [1])).requestOutputs[0]!.finished).toBe(false);
    const r = step(out('r', [1]));
    expect(r.requestOutputs[0]!.outputs[0]).toMatchObject({ text: 'Hel', finishReason: 'stop', stopReason: 'Hel' });
  });

  it('holds back max(len(stop)) - 1 characters while streaming deltas', () => {
    const { step } = setup({ stop: ['STOP', 'zz'] }, 'delta');
    const texts = [5, 6, 7].map((t) => step(out('r', [t])).requestOutputs[0]!.outputs[0]!.text);
    expect(texts).toEqual(['', 'a', 'bc']);
    const last = step(out('r', [8])).requestOutputs[0]!;
    expect(last.outputs[0]).toMatchObject({ text: '', tokenIds: [8], finishReason: 'stop', stopReason: 'STOP' });
  });

  it('releases held-back text when the request finishes for another reason', () => {
    const { step } = setup({ stop: ['STOP'] }, 'delta');
    expect(step(out('r', [1])).requestOutputs[0]!.outputs[0]!.text).toBe('');
    const r = step(out('r', [9], { finishReason: 'length' })).requestOutputs[0]!;
    expect(r.outputs[0]).toMatchObject({ text: 'Hel x', tokenIds: [9], finishReason: 'length' });
  });

  it('does not detokenize a stop token unless includeStopStrInOutput', () => {
    const a = setup({ skipSpecialTokens: false });
    const ra = a.step(out('r', [1, 0], { finishReason: 'stop', stopReason: null })).requestOutputs[0]!.outputs[0]!;
    expect(ra).toMatchObject({ text: 'Hel', tokenIds: [1, 0], finishReason: 'stop', stopReason: null });
    const b = setup({ skipSpecialTokens: false, includeStopStrInOutput: true });
    const rb = b.step(out('r', [1, 0], { finishReason: 'stop', stopReason: 0 })).requestOutputs[0]!.outputs[0]!;
    expect(rb).toMatchObject({ text: 'Hel</s>', stopReason: 0 });
  });

  it('assembles logprobs, the cumulative logprob and prompt logprobs', () => {
    const { step } = setup({ logprobs: 1, promptLogprobs: 0 });
    const lp = (tokenId: number, logprob: number) => ({ chosen: { tokenId, logprob, rank: 1 }, top: [{ tokenId, logprob, rank: 1 }] });
    const pl = { start: 1, entries: [lp(2, -0.5), lp(3, -0.25)] };
    step(out('r', [1], { newLogprobs: [lp(1, -1)], newPromptLogprobs: pl }));
    const r = step(out('r', [2], { newLogprobs: [lp(2, -2)], finishReason: 'length' })).requestOutputs[0]!;
    expect(r.outputs[0]!.cumulativeLogprob).toBe(-3);
    expect(r.outputs[0]!.logprobs!.map((x) => x.chosen.tokenId)).toEqual([1, 2]);
    expect(r.promptLogprobs).toEqual([null, lp(2, -0.5), lp(3, -0.25)]);
  });

  it('fans n > 1 out into children with seed + i and aggregates them', () => {
    const params = resolveSamplingParams({ n: 3, seed: 7 });
    expect(fanOut('q', params).map((c) => [c.reqId, c.params.seed, c.params.n])).toEqual([
      ['0_q', 7, 1],
      ['1_q', 8, 1],
      ['2_q', 9, 1],
    ]);
    expect(fanOut('q', resolveSamplingParams({})).map((c) => c.reqId)).toEqual(['q']);

    const fin = setup({ n: 2 }, 'final', 'q');
    expect(fin.step(out('0_q', [1], { finishReason: 'length' })).requestOutputs).toEqual([]);
    const done = fin.step(out('1_q', [3], { finishReason: 'length' })).requestOutputs;
    expect(done.map((r) => [r.finished, r.outputs.map((o) => o.text)])).toEqual([[true, ['Hel', 'orld']]]);

    const delta = setup({ n: 2 }, 'delta', 'q');
    const d = delta.step(out('1_q', [3])).requestOutputs[0]!;
    expect(d.outputs.map((o) => [o.index, o.text])).toEqual([[1, 'orld']]);
  });

  it('refuses a live request id and aborts with a final output', () => {
    const { p } = setup({});
    expect(() => p.addRequest({ requestId: 'r', prompt: null, promptTokenIds: [1], params: resolveSamplingParams({}), outputKind: 'final', arrivalTime: 0, maxTokensParam: null })).toThrow(
      expect.objectContaining({ code: 'duplicate_request_id' }),
    );
    const { reqIds, outputs } = p.finishRequests(['r', 'unknown'], 'abort');
    expect(reqIds).toEqual(['r']);
    expect(outputs[0]).toMatchObject({ finished: true, outputs: [{ finishReason: 'abort' }] });
    expect(p.numUnfinishedRequests).toBe(0);
  });

  it('measures TTFT, ITL and the per-request intervals on the engine clock', () => {
    const { step } = setup({});
    const ev = (type: 'queued' | 'scheduled', timestamp: number) => ({ type, timestamp });
    const s1 = step(out('r', [1], { events: [ev('queued', 100.5), ev('scheduled', 100.75)] })); // ts 101
    expect(s1.iterationStats.numPromptTokens).toBe(3);
    expect(s1.iterationStats.timeToFirstTokens).toHaveLength(1);
    const s2 = step(out('r', [2, 3])); // ts 102
    expect(s2.iterationStats.interTokenLatencies).toEqual([1]);
    expect(s2.iterationStats.numGenerationTokens).toBe(2);
    const s3 = step(out('r', [4], { finishReason: 'length' })); // ts 103
    expect(s3.iterationStats.finishedRequests).toEqual([
      expect.objectContaining({
        finishReason: 'length',
        queueTime: 0.25,
        prefillTime: 0.25,
        decodeTime: 2,
        inferenceTime: 2.25,
        numPromptTokens: 3,
        numGenerationTokens: 4,
        maxTokensParam: 50,
        n: 1,
      }),
    ]);
  });
});
