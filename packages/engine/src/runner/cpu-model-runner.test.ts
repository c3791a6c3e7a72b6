import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { loadModelRunner, type ModelRunner } from './model-runner.js';
import { MiniScheduler } from './testing/mini-scheduler.js';

interface Prompt {
  prompt_ids: number[];
  greedy_ids: number[];
}

function run(runner: ModelRunner, sched: MiniScheduler): void {
  while (sched.hasUnfinished()) {
    const so = sched.schedule();
    sched.update(so, runner.execute(so));
  }
  runner.execute(sched.schedule()); // delivers the last finished ids
}

describe.each(MODEL_FIXTURES)('CpuModelRunner greedy golden on %s', (name) => {
  const prompts = (modelReference(name) as { prompts: Prompt[] }).prompts;
  const greedy = { temperature: 0, maxTokens: 24 };

  async function fresh(numBlocks: number): Promise<ModelRunner> {
    const runner = await loadModelRunner({ model: modelFixtureDir(name), device: 'cpu' });
    runner.initializeKVCache({ numBlocks, blockSize: 16 });
    return runner;
  }

  it('every prompt alone: the 24 greedy tokens exactly', async () => {
    const runner = await fresh(61);
    for (const [i, p] of prompts.entries()) {
      const sched = new MiniScheduler(61, 16, 8192);
      sched.add(`r${i}`, p.prompt_ids, greedy);
      run(runner, sched);
      expect(sched.done.get(`r${i}` as never)).toEqual(p.greedy_ids);
    }
  });

  it('all prompts in one batch, prefill chunked by a 97-token budget: same tokens', async () => {
    const runner = await fresh(127);
    const sched = new MiniScheduler(127, 16, 97);
    prompts.forEach((p, i) => sched.add(`r${i}`, p.prompt_ids, greedy));
    run(runner, sched);
    prompts.forEach((p, i) => expect(sched.done.get(`r${i}` as never)).toEqual(p.greedy_ids));
    expect(sched.numFreeBlocks).toBe(127);
    expect((runner as unknown as { numRequests: number }).numRequests).toBe(0);
  });

  it('greedy drafts: correct drafts are all accepted plus a bonus, a wrong one is corrected', async () => {
    const runner = await fresh(61);
    const p = prompts[3]!;
    const sched = new MiniScheduler(61, 16, 8192);
    sched.add('s', p.prompt_ids, greedy);
    let so = sched.schedule(); // prefill
    sched.update(so, runner.execute(so));
    sched.propose('s', p.greedy_ids.slice(1, 4)); // the next three tokens, all right
    so = sched.schedule();
    let out = runner.execute(so);
    expect(out.sampledTokenIds.get('s' as never)).toEqual(p.greedy_ids.slice(1, 5));
    sched.update(so, out);
    sched.propose('s', [p.greedy_ids[5]!, (p.greedy_ids[6]! + 1) % 3000, p.greedy_ids[7]!]);
    so = sched.schedule();
    out = runner.execute(so);
    expect(out.sampledTokenIds.get('s' as never)).toEqual(p.greedy_ids.slice(5, 7));
    sched.update(so, out);
    run(runner, sched);
    expect(sched.done.get('s' as never)).toEqual(p.greedy_ids);
  });
});

describe('loadModelRunner options', () => {
  const p = (modelReference('tiny-llama') as { prompts: Prompt[] }).prompts[2]!;

  async function tokens(opts: { loadFormat?: 'dummy'; seed?: number; dtype?: 'float16' | 'float32'; maxModelLen?: number }): Promise<number[]> {
    const runner = await loadModelRunner({ model: modelFixtureDir('tiny-llama'), device: 'cpu', ...opts });
    runner.initializeKVCache({ numBlocks: 16, blockSize: 16 });
    const sched = new MiniScheduler(16, 16, 512);
    sched.add('d', p.prompt_ids, { temperature: 0, maxTokens: 8 });
    run(runner, sched);
    return sched.done.get('d' as never)!;
  }

  it('dummy weights: deterministic per seed, different from the checkpoint', async () => {
    const a = await tokens({ loadFormat: 'dummy', seed: 5 });
    expect(await tokens({ loadFormat: 'dummy', seed: 5 })).toEqual(a);
    expect(a).not.toEqual(p.greedy_ids.slice(0, 8));
  });

  it('dtype float32 keeps the bf16 checkpoint exact; maxModelLen is applied to the config', async () => {
    expect(await tokens({ dtype: 'float32' })).toEqual(p.greedy_ids.slice(0, 8));
    const runner = await loadModelRunner({ model: modelFixtureDir('tiny-llama'), device: 'cpu', maxModelLen: 512 });
    expect(runner.modelConfig.maxModelLen).toBe(512);
    expect(runner.kvCacheBytesPerBlock(16)).toBe(2 * 3 * 16 * 2 * 16 * 4);
  });
});
