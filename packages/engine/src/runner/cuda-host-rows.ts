import { invariant, type KVCacheOps } from '@vllm-ts/core';
import type { CudaStream, DeviceTensor, LlamaForward } from '@vllm-ts/cuda';
import type { PlannedRequest } from './forward-batch-builder.js';
import type { HostSampler } from './host-sampler.js';
import type { RunnerOutputBuilder } from './runner-output-builder.js';

/** What host sampling reads from the CUDA runner. */
export interface HostRowsContext {
  readonly fwd: LlamaForward;
  readonly sampler: HostSampler;
  readonly vocabSize: number;
  readonly stream: CudaStream;
}

/**
 * Copies the logits rows the host requests need (computing rows past the logits buffer from the
 * step's hidden states) and samples them on the host. Reads the step's logits and hidden-state
 * buffers: call before the next forward pass is enqueued.
 * @param ctx forward pass, host sampler, vocabulary size, stream
 * @param logitsRows flat token index of every logits row of the step
 * @param logits the step's logits buffer view
 * @param requests requests sampled on the host
 * @param forks V0 forks sampled from their parents' rows
 * @param out receives the sampled tokens and logprobs
 */
export function sampleRowsOnHost(
  ctx: HostRowsContext,
  logitsRows: Int32Array,
  logits: DeviceTensor,
  requests: PlannedRequest[],
  forks: Parameters<HostSampler['sampleAll']>[1],
  out: RunnerOutputBuilder,
): void {
  const V = ctx.vocabSize;
  const cap = logits.shape[0]!;
  const wanted: number[] = [];
  for (const r of requests) for (const row of [...r.promptRows, ...r.sampleRows]) wanted.push(row);
  const compact = new Float32Array(wanted.length * V);
  const index = new Map<number, number>();
  const inBuffer = wanted.filter((row) => row < cap);
  const beyond = wanted.filter((row) => row >= cap);
  for (const row of inBuffer) {
    index.set(row, index.size);
    compact.set(logits.rows(row, 1).toHost(ctx.stream) as Float32Array, (index.size - 1) * V);
  }
  for (let i = 0; i < beyond.length; i += cap) {
    const chunk = beyond.slice(i, i + cap);
    const extra = ctx.fwd.logitsForRows(Int32Array.from(chunk, (row) => logitsRows[row]!), ctx.stream);
    const host = extra.toHost(ctx.stream) as Float32Array;
    chunk.forEach((row, j) => {
      index.set(row, index.size);
      compact.set(host.subarray(j * V, (j + 1) * V), (index.size - 1) * V);
    });
  }
  const remap = (rows: readonly number[]) => rows.map((row) => index.get(row)!);
  const remapped = requests.map((r) => ({ ...r, promptRows: remap(r.promptRows), sampleRows: remap(r.sampleRows) }));
  ctx.sampler.sampleAll(remapped, forks, compact, out);
}

/**
 * V0 block moves: swap in, swap out, then copy-on-write copies (vLLM's worker order). Waits for the
 * stream first (swaps copy synchronously).
 * @param fwd the forward pass holding the KV caches
 * @param cpuCache per cache (layer x key/value), the CPU swap blocks; null without swap space
 * @param ops the step's block moves
 * @param stream the runner's stream
 */
export function applyCudaBlockMoves(fwd: LlamaForward, cpuCache: Float32Array[] | null, ops: KVCacheOps, stream: CudaStream): void {
  if (ops.swapIn.length === 0 && ops.swapOut.length === 0 && ops.copy.length === 0) return;
  invariant(ops.swapIn.length + ops.swapOut.length === 0 || cpuCache !== null, 'swaps need CPU blocks (swapSpace)');
  const caches = fwd.kvCaches().flat();
  stream.synchronize();
  const blockView = (t: DeviceTensor) => t.view([t.shape[0]!, t.numel / t.shape[0]!]);
  caches.forEach((cache, c) => {
    const dev = blockView(cache);
    const per = dev.shape[1]!;
    const host = cpuCache?.[c];
    for (const [from, to] of ops.swapIn) dev.rows(to, 1).copyFromHost(host!.subarray(from * per, (from + 1) * per));
    for (const [from, to] of ops.swapOut) host!.set(dev.rows(from, 1).toHost(stream), to * per);
    for (const [from, to] of ops.copy) dev.rows(to, 1).copyFrom(dev.rows(from, 1), stream);
  });
}
