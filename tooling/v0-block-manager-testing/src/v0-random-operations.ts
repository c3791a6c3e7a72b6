import { requestId, type BlockId } from '@vllm-ts/core';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ReferenceModel, type ModelSequence } from './reference-model.js';
import type { DrivenBlockPair, DrivenManagerSizes, DrivenV0BlockManager, ManagerUnderTest } from './v0-block-manager.js';
import { checkV0Drained, checkV0Invariants } from './v0-invariants.js';
import { v0Operation, type MisuseVariant, type V0Operation } from './v0-operations.js';

/**
 * What differs between the V0 block managers under the shared driver: how to build one, what
 * prompts to feed it, and the checks only that flavour has.
 */
export interface V0BlockManagerFlavour<M extends DrivenV0BlockManager> {
  /**
   * Builds a manager with watermark 0 (so `canAllocate` / `canSwapIn` say `ok` exactly when the
   * call succeeds) and exposes its pools.
   */
  create(sizes: DrivenManagerSizes): ManagerUnderTest<M>;
  /** Prompt of the `index`-th added sequence (default {@link distinctPrompt}). */
  readonly promptTokens?: (index: number, length: number) => number[];
  /** Draw `markScheduled` operations too (a prefix cache counts only marked blocks as hits). */
  readonly markScheduled?: boolean;
  /** Device blocks a cache holds (one reference each) that no table may name; none by default. */
  readonly cacheHeldBlocks?: (manager: M) => Iterable<BlockId>;
  /** Flavour checks after every operation, after the shared invariants. */
  readonly afterEach?: (manager: M, model: ReferenceModel) => void;
  /** Flavour checks once every sequence was freed, after the shared ones. */
  readonly afterDrain?: (manager: M) => void;
}

/**
 * Prompts that never share a block's content: token `i` of prompt `index` is `(7 * index + i) mod 50`.
 * @param index the prompt's ordinal
 * @param length its length
 */
export function distinctPrompt(index: number, length: number): number[] {
  return Array.from({ length }, (_, i) => (index * 7 + i) % 50);
}

/**
 * Prompts in two families that share their first 8 tokens (two full blocks of 4), so a prefix cache
 * gets hits, then diverge.
 * @param index the prompt's ordinal (its parity picks the family)
 * @param length its length
 */
export function sharedPrefixPrompt(index: number, length: number): number[] {
  return Array.from({ length }, (_, i) => (i < 8 ? (index % 2) * 100 + i : index * 7 + i));
}

/** Tokens per block in every run. */
const BLOCK_SIZE = 4;

/** What runs exercised, summed over runs: a test can require that each path was reached. */
export interface V0RunStats {
  /** Successful `allocate` calls. */
  allocations: number;
  /** `allocate` calls refused for lack of blocks. */
  refusedAllocations: number;
  /** Allocations that found cached tokens (prefix hits). */
  cacheHits: number;
  /** Successful `appendSlots` calls. */
  appends: number;
  /** Copy-on-write pairs appends returned. */
  copiesOnWrite: number;
  /** Appends that reported a rewritten table. */
  rewrites: number;
  /** Forks. */
  forks: number;
  /** Successful swap-outs. */
  swapsOut: number;
  /** Successful swap-ins. */
  swapsIn: number;
  /** Swaps refused for lack of blocks. */
  refusedSwaps: number;
  /** Misuse calls (each threw as expected). */
  misuses: number;
  /** Frees. */
  frees: number;
}

/**
 * A zeroed {@link V0RunStats}.
 * @returns fresh counters
 */
export function emptyV0RunStats(): V0RunStats {
  return { allocations: 0, refusedAllocations: 0, cacheHits: 0, appends: 0, copiesOnWrite: 0, rewrites: 0, forks: 0, swapsOut: 0, swapsIn: 0, refusedSwaps: 0, misuses: 0, frees: 0 };
}

/**
 * The fast-check property of the V0 block-manager contract: from random pool sizes, random
 * add / append / fork / swap-out / swap-in / (mark) / free / misuse sequences keep every invariant
 * of {@link checkV0Invariants} after each operation, every call agrees with its `can*` query,
 * misuse throws and changes nothing, and freeing everything returns every block.
 * @param flavour how to build the manager and its own checks
 * @param stats counters to add each run's events to
 * @returns a property for `fc.assert`
 * @example
 * // Probe extends BlockSpaceManager; underTest() returns { manager: this, gpu: this.gpu, cpu: this.cpu }.
 * fc.assert(v0BlockManagerProperty({ create: (s) => new Probe({ ...s, watermark: 0 }).underTest() }), { numRuns: 300 });
 */
export function v0BlockManagerProperty<M extends DrivenV0BlockManager>(flavour: V0BlockManagerFlavour<M>, stats: V0RunStats = emptyV0RunStats()): fc.IPropertyWithHooks<[number, number, V0Operation[]]> {
  return fc.property(
    fc.integer({ min: 3, max: 24 }),
    fc.integer({ min: 0, max: 16 }),
    fc.array(v0Operation({ markScheduled: flavour.markScheduled ?? false }), { maxLength: 120, size: 'medium' }),
    (numGpuBlocks, numCpuBlocks, ops) => runV0Operations(flavour, { blockSize: BLOCK_SIZE, numGpuBlocks, numCpuBlocks }, ops, stats),
  );
}

/**
 * Runs `ops` on a fresh manager, checking after each one, then frees everything and checks the drain.
 * @param flavour how to build the manager and its own checks
 * @param sizes the pools
 * @param ops the operations, in order
 * @param stats counters to add this run's events to
 * @throws the vitest assertion error of the first broken expectation
 */
export function runV0Operations<M extends DrivenV0BlockManager>(
  flavour: V0BlockManagerFlavour<M>,
  sizes: DrivenManagerSizes,
  ops: readonly V0Operation[],
  stats: V0RunStats = emptyV0RunStats(),
): void {
  const { manager, gpu, cpu } = flavour.create(sizes);
  const model = new ReferenceModel(sizes);
  const prompt = flavour.promptTokens ?? distinctPrompt;
  let next = 0;
  for (const [step, o] of ops.entries()) {
    const picked = o.kind === 'add' || model.seqs.length === 0 ? undefined : model.seqs[o.pick % model.seqs.length]!;
    if (o.kind === 'add') {
      next++;
      add(manager, model, stats, { seqId: requestId(`s${next}`), tokenIds: prompt(next, o.len), onCpu: false, root: requestId(`s${next}`) });
    } else if (picked === undefined) continue;
    else if (o.kind === 'append') append(manager, model, stats, picked, Array.from({ length: o.n }, (_, i) => (i * 3 + next) % 50));
    else if (o.kind === 'fork' && !picked.onCpu) {
      next++;
      const child: ModelSequence = { seqId: requestId(`s${next}`), tokenIds: picked.tokenIds, onCpu: false, root: picked.root };
      manager.fork(picked.seqId, child.seqId);
      expect(manager.getBlockTable(child.seqId)).toEqual(manager.getBlockTable(picked.seqId));
      model.seqs.push(child);
      stats.forks++;
    } else if (o.kind === 'swapOut' || o.kind === 'swapIn') swap(manager, model, stats, picked, o.kind === 'swapOut');
    else if (o.kind === 'mark' && !picked.onCpu) manager.markScheduled([[picked.seqId, picked.tokenIds.length]], step);
    else if (o.kind === 'free') {
      manager.free(picked.seqId);
      model.remove(picked);
      expect(manager.hasTable(picked.seqId)).toBe(false);
      manager.free(picked.seqId);
      stats.frees++;
    } else if (o.kind === 'misuse') {
      misuse(manager, picked, o.variant);
      stats.misuses++;
    }
    else continue;
    const cacheHeld = new Set(flavour.cacheHeldBlocks?.(manager) ?? []);
    checkV0Invariants({ manager, gpu, cpu, sizes, model, cacheHeld });
    flavour.afterEach?.(manager, model);
  }
  for (const x of model.seqs) manager.free(x.seqId);
  model.seqs.length = 0;
  checkV0Drained(manager, sizes);
  flavour.afterDrain?.(manager);
}

/** Admission agrees with `canAllocate`, fails without side effects, and reports cached tokens as `peek` did. */
function add(manager: DrivenV0BlockManager, model: ReferenceModel, stats: V0RunStats, seq: ModelSequence): void {
  const status = manager.canAllocate([seq]);
  const peek = manager.peekNumCachedTokens(seq);
  const free = [manager.numFreeGpuBlocks, manager.numFreeCpuBlocks];
  const ok = manager.allocate([seq]);
  expect(ok, `allocate vs canAllocate = ${status}`).toBe(status === 'ok');
  if (!ok) {
    expect(manager.hasTable(seq.seqId)).toBe(false);
    expect([manager.numFreeGpuBlocks, manager.numFreeCpuBlocks], 'free blocks after a refused allocate').toEqual(free);
    stats.refusedAllocations++;
    return;
  }
  const cached = manager.getNumCachedTokens(seq.seqId);
  expect(cached, 'cached tokens after allocate vs peekNumCachedTokens before').toBe(peek);
  expect(cached % model.blockSize === 0 && cached < seq.tokenIds.length, `cached tokens ${cached} of ${seq.tokenIds.length}`).toBe(true);
  model.seqs.push(seq);
  stats.allocations++;
  if (cached > 0) stats.cacheHits++;
  // The runner computes only the uncached tokens: cached slots must already hold this prompt's KV.
  model.write(seq, manager.getBlockTable(seq.seqId), cached);
}

/** Appending copies shared blocks before writing and reports exactly whether the table's old entries changed. */
function append(manager: DrivenV0BlockManager, model: ReferenceModel, stats: V0RunStats, seq: ModelSequence, tokens: readonly number[]): void {
  if (seq.onCpu) return;
  const grown = { seqId: seq.seqId, tokenIds: [...seq.tokenIds, ...tokens] };
  if (!manager.canAppendSlots([grown])) return;
  const before = [...manager.getBlockTable(seq.seqId)];
  const from = seq.tokenIds.length;
  seq.tokenIds = grown.tokenIds;
  const copies: DrivenBlockPair[] = [];
  const rewritten = manager.appendSlots(seq, 0, copies);
  const after = manager.getBlockTable(seq.seqId);
  // Only this direction is the contract: a stale entry the runner keeps is a bug, an extra reload is not.
  if (before.some((b, i) => after[i] !== b)) expect(rewritten, 'appendSlots result when old table entries changed').toBe(true);
  for (const [src, dst] of copies) expect(before.includes(src) && !before.includes(dst), `copy-on-write pair ${src} -> ${dst}`).toBe(true);
  stats.appends++;
  stats.copiesOnWrite += copies.length;
  if (rewritten) stats.rewrites++;
  model.copy(false, false, copies);
  model.write(seq, after, from);
}

/** A whole group swaps, each distinct block once; a refused swap agrees with its query and changes nothing. */
function swap(manager: DrivenV0BlockManager, model: ReferenceModel, stats: V0RunStats, seq: ModelSequence, out: boolean): void {
  if (seq.onCpu === out) return;
  const group = model.group(seq);
  const ids = group.map((x) => x.seqId);
  const before = ids.map((id) => [...manager.getBlockTable(id)]);
  const free = [manager.numFreeGpuBlocks, manager.numFreeCpuBlocks];
  const expected = out ? manager.canSwapOut(ids) : manager.canSwapIn(group) === 'ok';
  const mapping: DrivenBlockPair[] = [];
  const ok = out ? manager.swapOut(ids, mapping) : manager.swapIn(ids, mapping);
  expect(ok, `swap ${out ? 'out' : 'in'} vs its query`).toBe(expected);
  if (!ok) {
    expect(mapping).toEqual([]);
    expect(ids.map((id) => manager.getBlockTable(id)), 'tables after a refused swap').toEqual(before);
    expect([manager.numFreeGpuBlocks, manager.numFreeCpuBlocks], 'free blocks after a refused swap').toEqual(free);
    stats.refusedSwaps++;
    return;
  }
  const moved = new Map(mapping);
  expect([...moved.keys()].sort(), 'swap sources: each distinct block of the group once').toEqual([...new Set(before.flat())].sort());
  expect(new Set(moved.values()).size, 'swap destinations distinct').toBe(mapping.length);
  expect(ids.map((id) => manager.getBlockTable(id)), 'tables after a swap: the old ones mapped').toEqual(before.map((t) => t.map((b) => moved.get(b))));
  model.copy(!out, out, mapping);
  for (const x of group) x.onCpu = out;
  if (out) stats.swapsOut++;
  else stats.swapsIn++;
}

/** Misuse throws the code V0 managers use for it; the invariants checked afterwards show nothing changed. */
function misuse(manager: DrivenV0BlockManager, seq: ModelSequence, variant: MisuseVariant): void {
  const copies: DrivenBlockPair[] = [];
  const calls: Record<MisuseVariant, [() => unknown, string]> = {
    reallocate: [() => manager.allocate([seq]), 'duplicate_sequence'],
    forkOnto: [() => manager.fork(seq.seqId, seq.seqId), seq.onCpu ? 'wrong_device' : 'duplicate_sequence'],
    wrongDevice: [seq.onCpu ? () => manager.appendSlots(seq, 0, copies) : () => manager.swapIn([seq.seqId], copies), 'wrong_device'],
    unknown: [() => manager.getBlockTable(requestId('never-added')), 'unknown_sequence'],
  };
  const [call, code] = calls[variant];
  expect(call).toThrow(expect.objectContaining({ code }));
  expect(copies).toEqual([]);
}

/**
 * Runs {@link v0BlockManagerProperty} without throwing and says why it failed: for tests that a
 * seeded bug is caught, and by the check meant to catch it.
 * @param flavour how to build the (buggy) manager
 * @param params fast-check parameters (default 300 runs, stopping at the first failure)
 * @returns the first failure's error message, or null when every run passed
 */
export function v0PropertyFailure<M extends DrivenV0BlockManager>(flavour: V0BlockManagerFlavour<M>, params: fc.Parameters<[number, number, V0Operation[]]> = {}): string | null {
  const details = fc.check(v0BlockManagerProperty(flavour), { numRuns: 300, endOnFailure: true, ...params });
  return details.failed ? String(details.errorInstance) : null;
}
