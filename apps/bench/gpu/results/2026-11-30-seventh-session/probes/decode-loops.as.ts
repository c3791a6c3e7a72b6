// AssemblyScript source of decode-loops.wasm, the WebAssembly variant of step-floor-probe.mjs (a
// probe, not scheduler code). Memory holds columns of C int32 each, column f at byte 4*f*C:
// 0 numTokens, 1 numComputed, 2 placeholders, 3 decode limit, 4 block offset, 5 tail position,
// 6 last token, 7 max-tokens end, 8 min-tokens end, 9 EOS id, 10 cached prompt tokens, 11 flags,
// 12 the step's computed counts (by batch index), 13 the step's sampled tokens (by batch index).
// Each loop runs until its first entry that JavaScript must handle (a KV trip, a block fill, a
// possible stop, a non-plain request) and returns that entry's index.
// Build (assemblyscript 0.28.20): npx asc decode-loops.as.ts -O3 --runtime stub --noAssert --initialMemory 64 -o decode-loops.wasm
let C: i32 = 0;
// @ts-ignore
@inline function col(f: i32, j: i32): usize { return <usize>((f * C + j) << 2); }
export function setCapacity(c: i32): void { C = c; }
export function scheduleDecodes(i: i32, n: i32, k: i32, budget: i32, maxModelLen: i32, pipelined: i32): i32 {
  while (i < n && budget > 0) {
    const ph = load<i32>(col(2, i)); const nt = load<i32>(col(0, i)); const c = load<i32>(col(1, i)); const f = load<i32>(col(11, i));
    if (nt + ph - c != 1 || c + 2 > maxModelLen || (f & 1) != 0) break;
    if (ph > 0 && nt + ph >= load<i32>(col(7, i))) break;
    if (c + 1 > load<i32>(col(3, i))) break;
    store<i32>(col(12, k), c); k++;
    store<i32>(col(1, i), c + 1);
    if (f != 0) store<i32>(col(11, i), f & ~8);
    if (pipelined) store<i32>(col(2, i), ph + 1);
    budget--; i++;
  }
  return i;
}
// The update's plain decodes from batch entry b: running position j = b (the probe's batch is the
// running set in order); tailBuf is the tail buffer's byte offset in memory.
export function applyDecodes(b: i32, end: i32, blockSize: i32, maxModelLen: i32, pipelined: i32, tailBuf: usize): i32 {
  while (b < end) {
    const j = b;
    if (load<u8>(<usize>(col(11, j))) != 0) break; // flags (stored as i32 here)
    const o = load<i32>(col(4, j)) + 1;
    const nt = load<i32>(col(0, j)) + 1;
    if (o == blockSize || nt >= maxModelLen) break;
    const t = load<i32>(col(13, b));
    if (!(nt < load<i32>(col(8, j)) || (t != load<i32>(col(9, j)) && nt < load<i32>(col(7, j))))) break;
    if (pipelined) store<i32>(col(2, j), load<i32>(col(2, j)) - 1);
    store<i32>(col(0, j), nt); store<i32>(col(6, j), t); store<i32>(col(4, j), o);
    const p = load<i32>(col(5, j)); store<i32>(tailBuf + (<usize>p << 2), t); store<i32>(col(5, j), p + 1);
    b++;
  }
  return b;
}
