import {
  blockId,
  requestId,
  resolveSamplingParams,
  type BlockId,
  type CachedRequestData,
  type KVCacheOps,
  type ModelRunnerOutput,
  type NewRequestData,
  type RequestId,
  type SamplingParamsInit,
  type SchedulerOutput,
  type TokenLogprobs,
} from '@vllm-ts/core';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelRunner, type ModelRunner } from './model-runner.js';
import { MiniScheduler } from './testing/mini-scheduler.js';

const BS = 4;
const prompts = (modelReference('tiny-llama') as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] }).prompts;
const P = prompts[2]!; // 33 prompt tokens
const GREEDY = { temperature: 0, maxTokens: 24 };

interface Step {
  news?: NewRequestData[];
  cached?: CachedRequestData[];
  sched?: [string, number][];
  finished?: string[];
  preempted?: string[];
  ops?: Partial<KVCacheOps>;
}

function so(s: Step): SchedulerOutput {
  const numScheduledTokens = new Map((s.sched ?? []).map(([id, n]) => [requestId(id), n] as const));
  return {
    scheduledNewReqs: s.news ?? [],
    scheduledCachedReqs: s.cached ?? [],
    numScheduledTokens,
    totalNumScheduledTokens: [...numScheduledTokens.values()].reduce((a, b) => a + b, 0),
    scheduledSpecDecodeTokens: new Map(),
    finishedReqIds: new Set((s.finished ?? []).map(requestId)),
    preemptedReqIds: new Set((s.preempted ?? []).map(requestId)),
    kvCacheOps: { swapIn: [], swapOut: [], copy: [], ...s.ops },
  };
}

function blocks(...ids: number[]): BlockId[] {
  return ids.map(blockId);
}

function range(from: number, n: number): BlockId[] {
  return blocks(...Array.from({ length: n }, (_, i) => from + i));
}

function newReq(id: string, prompt: number[], params: SamplingParamsInit, blockIds: BlockId[], extra: Partial<NewRequestData> = {}): NewRequestData {
  return {
    reqId: requestId(id),
    promptTokenIds: prompt,
    outputTokenIds: [],
    samplingParams: resolveSamplingParams(params),
    blockIds,
    numComputedTokens: 0,
    forkedFrom: null,
    ...extra,
  };
}

function cached(id: string, numComputedTokens: number, newBlockIds: BlockId[] = [], resumed = false, allTokenIds: number[] | null = null): CachedRequestData {
  return { reqId: requestId(id), resumed, newBlockIds, numComputedTokens, allTokenIds };
}

function sampled(out: ModelRunnerOutput, id: string): readonly number[] {
  return out.sampledTokenIds.get(id as RequestId) ?? [];
}

/** Decodes `id` one token per step until it has `until` outputs, growing its table from `nextBlock`. */
function decode(runner: ModelRunner, id: string, outputs: number[], numTokens: () => number, table: BlockId[], nextBlock: { n: number }, until: number): void {
  while (outputs.length < until) {
    const computed = numTokens() - 1;
    const fresh = computed % BS === 0 && computed / BS >= table.length ? [blockId(nextBlock.n++)] : [];
    table.push(...fresh);
    outputs.push(...sampled(runner.execute(so({ cached: [cached(id, computed, fresh)], sched: [[id, 1]] })), id));
  }
}

describe('CpuModelRunner honours the SchedulerOutput contract (tiny-llama)', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await loadModelRunner({ model: modelFixtureDir('tiny-llama'), device: 'cpu', seed: 9 });
    runner.initializeKVCache({ numBlocks: 200, blockSize: BS, numCpuBlocks: 40 });
  });

  it('a seeded request samples the same tokens alone or batched with others', async () => {
    const alone = await loadModelRunner({ model: modelFixtureDir('tiny-llama'), device: 'cpu' });
    alone.initializeKVCache({ numBlocks: 200, blockSize: BS });
    const seeded = { temperature: 1, seed: 1234, maxTokens: 20 };
    const a = new MiniScheduler(200, BS, 64);
    a.add('x', P.prompt_ids, seeded);
    while (a.hasUnfinished()) { const s = a.schedule(); a.update(s, alone.execute(s)); }
    const b = new MiniScheduler(200, BS, 40);
    b.add('y', prompts[4]!.prompt_ids, { temperature: 1.3, maxTokens: 12 });
    b.add('x', P.prompt_ids, seeded);
    b.add('z', prompts[1]!.prompt_ids, { temperature: 0.7, maxTokens: 30 });
    while (b.hasUnfinished()) { const s = b.schedule(); b.update(s, runner.execute(s)); }
    runner.execute(b.schedule());
    expect(b.done.get('x' as RequestId)).toEqual(a.done.get('x' as RequestId));
    expect(a.done.get('x' as RequestId)).toHaveLength(20);
  });

  it('V1 preemption: dropped from the batch, resumed with a new table and recomputed, same greedy tokens', () => {
    const table = range(0, 9);
    const out: number[] = [];
    out.push(...sampled(runner.execute(so({ news: [newReq('p', P.prompt_ids, GREEDY, [...table])], sched: [['p', 33]] })), 'p'));
    const next = { n: 100 };
    decode(runner, 'p', out, () => 33 + out.length, table, next, 6);
    runner.execute(so({ preempted: ['p'] }));
    // Resumed on entirely different blocks: everything is recomputed from position 0.
    const all = [...P.prompt_ids, ...out];
    const newTable = range(150, Math.ceil(all.length / BS));
    out.push(...sampled(runner.execute(so({ cached: [cached('p', 0, newTable, true, all)], sched: [['p', all.length]] })), 'p'));
    decode(runner, 'p', out, () => 33 + out.length, [...newTable], { n: 170 }, 24);
    expect(out).toEqual(P.greedy_ids);
    runner.execute(so({ finished: ['p'] }));
  });

  it('V0 recompute re-sends the request whole (prompt + outputs): same greedy tokens', () => {
    const out = [...sampled(runner.execute(so({ news: [newReq('q', P.prompt_ids, GREEDY, range(0, 9))], sched: [['q', 33]] })), 'q')];
    decode(runner, 'q', out, () => 33 + out.length, range(0, 9), { n: 9 }, 4);
    const resend = newReq('q', P.prompt_ids, GREEDY, range(50, 10), { outputTokenIds: [...out] });
    out.push(...sampled(runner.execute(so({ news: [resend], sched: [['q', 33 + out.length]] })), 'q'));
    decode(runner, 'q', out, () => 33 + out.length, range(50, 10), { n: 60 }, 24);
    expect(out).toEqual(P.greedy_ids);
    runner.execute(so({ finished: ['q'] }));
  });

  it('V0 swap: blocks copied out, overwritten by another request, copied back: same greedy tokens', () => {
    const table = range(0, 9);
    const out = [...sampled(runner.execute(so({ news: [newReq('s', P.prompt_ids, GREEDY, [...table])], sched: [['s', 33]] })), 's')];
    decode(runner, 's', out, () => 33 + out.length, table, { n: 9 }, 5);
    const cpu = range(3, table.length);
    runner.execute(so({ preempted: ['s'], ops: { swapOut: table.map((b, i) => [b, cpu[i]!] as const) } }));
    // Another request scribbles over the freed device blocks.
    runner.execute(so({ news: [newReq('w', prompts[5]!.prompt_ids.slice(0, 40), GREEDY, [...table])], sched: [['w', 40]] }));
    runner.execute(so({ finished: ['w'] }));
    const back = range(120, table.length);
    const r = runner.execute(so({
      ops: { swapIn: cpu.map((c, i) => [c, back[i]!] as const) },
      cached: [cached('s', 33 + out.length - 1, back, true, [...P.prompt_ids, ...out])],
      sched: [['s', 1]],
    }));
    out.push(...sampled(r, 's'));
    decode(runner, 's', out, () => 33 + out.length, [...back], { n: 140 }, 24);
    expect(out).toEqual(P.greedy_ids);
    runner.execute(so({ finished: ['s'] }));
  });

  it('V0 fork: the child samples from the parent last row, then copy-on-write keeps both on course', () => {
    const table = range(0, 9);
    const prompt = P.prompt_ids.slice(0, 30); // last block half full: the child must copy it
    const first = runner.execute(so({
      news: [
        newReq('par', prompt, { temperature: 0 }, [...table]),
        newReq('kid', prompt, { temperature: 0, logprobs: 2 }, [...table], { forkedFrom: requestId('par') }),
      ],
      sched: [['par', 30]],
    }));
    expect(sampled(first, 'kid')).toEqual(sampled(first, 'par'));
    expect(first.logprobs.get('kid' as RequestId)![0]!.chosen.rank).toBe(1);
    const kidTable = [...table.slice(0, 7), blockId(60)];
    const parOut = [...sampled(first, 'par')];
    const kidOut = [...sampled(first, 'kid')];
    // CoW: the shared last block (7) is copied to 60 before the child writes to it.
    const r = runner.execute(so({
      ops: { copy: [[blockId(7), blockId(60)]] },
      cached: [cached('par', 30), cached('kid', 30, kidTable, true, [...prompt, ...kidOut])],
      sched: [['par', 1], ['kid', 1]],
    }));
    parOut.push(...sampled(r, 'par'));
    kidOut.push(...sampled(r, 'kid'));
    const ref = runner.execute(so({ news: [newReq('ref', prompt, { temperature: 0 }, range(80, 9))], sched: [['ref', 30]] }));
    const refOut = [...sampled(ref, 'ref')];
    decode(runner, 'ref', refOut, () => 30 + refOut.length, range(80, 9), { n: 89 }, 12);
    decode(runner, 'par', parOut, () => 30 + parOut.length, [...table], { n: 100 }, 12);
    decode(runner, 'kid', kidOut, () => 30 + kidOut.length, kidTable, { n: 110 }, 12);
    expect(parOut).toEqual(refOut);
    expect(kidOut).toEqual(refOut);
    runner.execute(so({ finished: ['par', 'kid', 'ref'] }));
  });

  it('prompt logprobs cover prompt tokens 1.. once, identical whether chunked or not', () => {
    const ids = prompts[1]!.prompt_ids; // 7 tokens
    const params = { temperature: 0, promptLogprobs: 2, logprobs: 1 };
    const whole = runner.execute(so({ news: [newReq('w1', ids, params, range(0, 2))], sched: [['w1', 7]] }));
    const chunk = whole.promptLogprobs.get('w1' as RequestId)!;
    expect(chunk.start).toBe(1);
    expect(chunk.entries.map((e) => e.chosen.tokenId)).toEqual(ids.slice(1));
    expect(chunk.entries[0]!.top).toHaveLength(2);
    const lp = whole.logprobs.get('w1' as RequestId)!;
    expect(lp[0]!.chosen).toMatchObject({ tokenId: prompts[1]!.greedy_ids[0], rank: 1 });

    const parts: TokenLogprobs[] = [];
    const a = runner.execute(so({ news: [newReq('c1', ids, params, range(10, 2))], sched: [['c1', 3]] }));
    expect(sampled(a, 'c1')).toEqual([]);
    expect(a.promptLogprobs.get('c1' as RequestId)!.start).toBe(1);
    parts.push(...a.promptLogprobs.get('c1' as RequestId)!.entries);
    const b = runner.execute(so({ cached: [cached('c1', 3)], sched: [['c1', 4]] }));
    expect(b.promptLogprobs.get('c1' as RequestId)!.start).toBe(4);
    parts.push(...b.promptLogprobs.get('c1' as RequestId)!.entries);
    expect(sampled(b, 'c1')).toEqual(sampled(whole, 'w1'));
    parts.forEach((e, i) => {
      expect(e.chosen.tokenId).toBe(chunk.entries[i]!.chosen.tokenId);
      expect(e.chosen.logprob).toBeCloseTo(chunk.entries[i]!.chosen.logprob, 5);
    });
    // Decode steps bring no more prompt logprobs.
    const c = runner.execute(so({ cached: [cached('c1', 7)], sched: [['c1', 1]] }));
    expect(c.promptLogprobs.size).toBe(0);
    runner.execute(so({ finished: ['w1', 'c1'] }));
  });
});
