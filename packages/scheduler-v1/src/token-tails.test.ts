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
    const tails = new TokenTails(4, 2);
    const a = tails.acquire();
    const b = tails.acquire();
    expect([a, b]).toEqual([0, 4]);
    const c = tails.acquire();
    expect(c).toBe(8);
    expect(tails.buf.length).toBeGreaterThanOrEqual(12);
    tails.release(b);
    expect(tails.acquire()).toBe(4);
  });

  it('keeps a running request’s tokens and hashes exact across blocks, detach and reattach', () => {
    const tails = new TokenTails(4, 1);
    const r = req('a', [10, 11, 12, 13, 14, 15]);
    r.attachTail(tails);
    const tokens = [10, 11, 12, 13, 14, 15];
    for (let t = 100; t < 107; t++) {
      r.appendOutputToken(t);
      tokens.push(t);
      expect(r.lastTokenId).toBe(t);
      expect(r.blockHashes).toEqual(expectedHashes(tokens));
    }
    expect(r.allTokenIds()).toEqual(tokens);
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
});
