import { requestId, resolveSamplingParams } from '@vllm-ts/core';
import { BlockHasher, RequestBlockHasher } from '@vllm-ts/prefix-cache';
import { describe, expect, it } from 'vitest';
import { Request } from './request.js';
import { TokenTails } from './token-tails.js';

const hasher = new BlockHasher({ algorithm: 'murmur3_128', hashSeed: 't' });

function req(id: string, prompt: number[]): Request {
  return new Request(
    { reqId: requestId(id), promptTokenIds: prompt, samplingParams: resolveSamplingParams({ maxTokens: 100 }), eosTokenId: 2, arrivalTime: 0 } as never,
    100,
    0,
    hasher,
    4,
  );
}

/** The block hashes a request with these tokens must hold. */
function expectedHashes(tokens: number[]): string[] {
  const out: string[] = [];
  new RequestBlockHasher(hasher, 4).extend(tokens, out as never);
  return out;
}

describe('TokenTails', () => {
  it('hands out distinct slots, neighbours first, and grows when they run out', () => {
    const tails = new TokenTails(4, 2, 4); // 4 blocks of 4 tokens per slot
    const a = tails.acquire();
    const b = tails.acquire();
    expect([a, b]).toEqual([0, 16]);
    const c = tails.acquire();
    expect(c).toBe(32);
    expect(tails.buf.length).toBeGreaterThanOrEqual(48);
    tails.release(b);
    expect(tails.acquire()).toBe(16);
  });

  it('keeps a running request’s tokens and hashes exact across blocks, detach and reattach', () => {
    const tails = new TokenTails(4, 1);
    const r = req('a', [10, 11, 12, 13, 14, 15]);
    r.attachTail(tails);
    // Admission reserves the history for every output it may produce (maxTokens 100 here).
    expect(r.tokens.length).toBeGreaterThanOrEqual(106);
    const history = r.tokens;
    const tokens = [10, 11, 12, 13, 14, 15];
    for (let t = 100; t < 107; t++) {
      r.appendOutputToken(t);
      tokens.push(t);
      expect(r.lastTokenId).toBe(t);
      expect(r.blockHashes).toEqual(expectedHashes(tokens));
    }
    expect(r.allTokenIds()).toEqual(tokens);
    expect(r.tokens).toBe(history); // never regrown while running
    r.detachTail(); // preempted mid-block: the partial block moves into the history
    expect(r.numFlushed).toBe(r.numTokens);
    r.appendOutputToken(200); // appended without a tail (direct to the history)
    tokens.push(200);
    r.attachTail(tails);
    for (let t = 300; t < 306; t++) {
      r.appendOutputToken(t);
      tokens.push(t);
    }
    expect(r.allTokenIds()).toEqual(tokens);
    expect(r.blockHashes).toEqual(expectedHashes(tokens));
  });

  it.each([
    ['murmur3_128', 1],
    ['murmur3_128', 3],
    ['sha256', 4],
  ] as const)('hashes long runs of full blocks in the tail exactly (%s, %i blocks per window)', (algorithm, blocksPerSlot) => {
    const h = new BlockHasher({ algorithm, hashSeed: 't' });
    const make = (prompt: number[]) =>
      new Request({ reqId: requestId('l'), promptTokenIds: prompt, samplingParams: resolveSamplingParams({ maxTokens: 500 }), eosTokenId: 2, arrivalTime: 0 } as never, 500, 0, h, 4);
    const tails = new TokenTails(4, 2, blocksPerSlot);
    tails.acquire(); // another request's slot before this one's
    const r = make([1, 2, 3, 4, 5]);
    r.attachTail(tails);
    const tokens = [1, 2, 3, 4, 5];
    const all = [...tokens, ...Array.from({ length: 203 }, (_, t) => 1000 + ((t * 7919) % 5000))];
    const want: string[] = [];
    new RequestBlockHasher(h, 4).extend(all, want as never);
    for (let t = 0; t < 203; t++) {
      r.appendOutputToken(all[tokens.length]!);
      tokens.push(all[tokens.length]!);
      // The count and the last hash are current after every token (blockHashes may lag until read).
      const numFull = Math.floor(tokens.length / 4);
      expect(r.numBlockHashes).toBe(numFull);
      expect(r.lastBlockHash).toBe(want[numFull - 1]);
      // Reading every hash mid-run (a preemption check, a KV slow path) makes the decodes' strings
      // and leaves the next blocks hashed exactly as before.
      if (t % 61 === 0) expect(r.blockHashes).toEqual(want.slice(0, numFull));
    }
    expect(r.blockHashes).toEqual(want);
    expect(r.allTokenIds()).toEqual(tokens);
    expect(tails.buf.subarray(0, 4 * blocksPerSlot).every((t) => t === 0)).toBe(true);
  });
});
