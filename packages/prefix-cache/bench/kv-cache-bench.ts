// Prefix-cache benchmarks: hashing throughput, the getComputedBlocks + allocateSlots + free cycle
// for a 2,000-token prompt (0% and 50% hits), and a 1,024-request decode step. Each row has its peer
// measured in the same run. Run: npm run bench (in packages/prefix-cache).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestId, type BlockHash, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import { BlockHasher, HASH_ALGORITHMS, KVCacheManager, RequestBlockHasher, type HashAlgorithm, type KVCacheStateHolder } from '../src/index.js';

const BS = 16;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rows: { bench: string; variant: string; value: number; unit: string; perBlockNs?: number }[] = [];

// 1. Hashing throughput, tokens/s.
const tokens = Array.from({ length: 16_384 }, (_, i) => (i * 2654435761) % 150_000);
function hashRun(fn: () => void): number {
  const rates: number[] = [];
  for (let s = 0; s < 7; s++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 100) {
      fn();
      n += tokens.length;
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}
for (const algorithm of HASH_ALGORITHMS) {
  const hasher = new BlockHasher({ algorithm, hashSeed: 'bench' });
  rows.push({ bench: 'hash tokens/s', variant: algorithm, value: hashRun(() => new RequestBlockHasher(hasher, BS).extend(tokens, [])), unit: 'tokens/s' });
}
rows.push({
  bench: 'hash tokens/s',
  variant: 'peer: createHash sha256 per block',
  value: hashRun(() => {
    let parent = 'seed';
    for (let i = 0; i + BS <= tokens.length; i += BS) {
      parent = createHash('sha256').update(parent).update(new Uint32Array(tokens.slice(i, i + BS))).digest('base64url');
    }
  }),
  unit: 'tokens/s',
});

// 2. The admission cycle for a 2,000-token prompt.
class Req implements KVCacheRequest {
  readonly numComputedTokens = 0;
  readonly numPreemptions = 0;
  readonly skipReadingPrefixCache = false;
  constructor(
    readonly reqId: RequestId,
    readonly numTokens: number,
    readonly blockHashes: readonly BlockHash[],
  ) {}
}
const PROMPT = 2000;
const numFull = Math.floor(PROMPT / BS);
let uniq = 0;
const shared = Array.from({ length: numFull }, (_, i) => `shared-${i}` as BlockHash);
function makeReqs(n: number, hitFraction: number): Req[] {
  const cut = Math.floor(numFull * hitFraction);
  return Array.from({ length: n }, () => {
    const id = uniq++;
    return new Req(requestId(`r${id}`), PROMPT, [...shared.slice(0, cut), ...Array.from({ length: numFull - cut }, (_, i) => `u${id}-${i}` as BlockHash)]);
  });
}
for (const [hit, caching] of [[0, true], [0.5, true], [0, false]] as const) {
  const kv = new KVCacheManager({ numBlocks: 65_536, blockSize: BS, maxModelLen: 4096, enablePrefixCaching: caching });
  if (hit > 0) {
    const warm = makeReqs(1, 1)[0]!;
    kv.allocateSlots(warm, PROMPT);
    kv.free(warm);
  }
  const nsPerOp: number[] = [];
  let hits = 0;
  for (let s = 0; s < 7; s++) {
    const reqs = makeReqs(500, hit);
    const t0 = performance.now();
    for (const r of reqs) {
      const h = kv.getComputedBlocks(r);
      hits += h.numHitTokens;
      kv.allocateSlots(r, PROMPT - h.numHitTokens, { newComputedBlocks: h.blocks, numNewComputedTokens: h.numHitTokens });
      kv.free(r);
    }
    nsPerOp.push(((performance.now() - t0) * 1e6) / reqs.length);
  }
  const ns = median(nsPerOp);
  const variant = caching ? `${hit * 100}% hits (measured ${((hits / (7 * 500 * PROMPT)) * 100).toFixed(0)}%)` : 'peer: caching off';
  rows.push({ bench: '2,000-token cycle ops/s', variant, value: 1e9 / ns, unit: 'ops/s', perBlockNs: ns / Math.ceil(PROMPT / BS) });
}

// 3. One decode step for 1,024 running requests: append a token (hashing the block it fills) and
//    allocateSlots(1) each, timed apart. Prompts are staggered so blocks fill on different steps.
class DecodeReq implements KVCacheRequest {
  readonly blockHashes: BlockHash[] = [];
  numComputedTokens = 0;
  readonly numPreemptions = 0;
  readonly skipReadingPrefixCache = false;
  constructor(
    readonly reqId: RequestId,
    readonly toks: number[],
    readonly rh: RequestBlockHasher,
  ) {
    rh.extend(toks, this.blockHashes);
  }
  get numTokens(): number {
    return this.toks.length;
  }
}
/** The same request lending the manager its state field (the scheduler's requests do). */
class HolderDecodeReq extends DecodeReq implements KVCacheStateHolder {
  kvCacheState: unknown = null;
}
function decodeStep(algorithm: HashAlgorithm, caching: boolean, holder = false): { alloc: number; hash: number } {
  const hasher = new BlockHasher({ algorithm, hashSeed: 'bench' });
  const kv = new KVCacheManager({ numBlocks: 1024 * 48, blockSize: BS, maxModelLen: 8192, enablePrefixCaching: caching });
  const reqs = Array.from({ length: 1024 }, (_, i) => {
    const toks = Array.from({ length: 128 + (i % BS) }, (_, k) => (i * 131 + k) % 150_000);
    const r = new (holder ? HolderDecodeReq : DecodeReq)(requestId(`d${i}`), toks, new RequestBlockHasher(hasher, BS));
    kv.allocateSlots(r, r.toks.length);
    r.numComputedTokens = r.toks.length;
    return r;
  });
  const alloc: number[] = [];
  const hash: number[] = [];
  for (let chunk = 0; chunk < 32; chunk++) {
    // One chunk = 16 steps, so each request fills exactly one block per chunk.
    let ta = 0;
    let th = 0;
    for (let step = 0; step < 16; step++) {
      const t0 = performance.now();
      if (caching) {
        for (const r of reqs) {
          r.toks.push(7);
          if (r.toks.length % BS === 0) r.rh.extend(r.toks, r.blockHashes);
        }
      } else for (const r of reqs) r.toks.push(7);
      const t1 = performance.now();
      for (const r of reqs) {
        kv.allocateSlots(r, 1);
        r.numComputedTokens++;
      }
      const t2 = performance.now();
      th += t1 - t0;
      ta += t2 - t1;
    }
    alloc.push((ta * 1000) / 16);
    hash.push((th * 1000) / 16);
  }
  return { alloc: median(alloc), hash: median(hash) };
}
for (const [algorithm, caching, holder] of [
  ['sha256', true, true],
  ['sha256', true, false],
  ['murmur3_128', true, true],
  ['sha256', false, true],
] as const) {
  const r = decodeStep(algorithm, caching, holder);
  const how = holder ? 'request holds its state' : 'peer: state looked up by id';
  const variant = caching ? `${algorithm}, caching on, ${how}` : 'peer: caching off (no hashing)';
  rows.push({ bench: '1,024-request step: allocateSlots µs', variant, value: r.alloc, unit: 'µs/step' });
  rows.push({ bench: '1,024-request step: append + hash µs', variant, value: r.hash, unit: 'µs/step' });
}

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'kv-cache-bench.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2));
console.table(rows.map((r) => ({ bench: r.bench, variant: r.variant, value: Number(r.value.toPrecision(3)), unit: r.unit, 'ns/block': r.perBlockNs === undefined ? '' : Number(r.perBlockNs.toPrecision(3)) })));
