// The floor of a scheduler step's two decode loops at 1,024 running requests, written three ways
// (seventh session, 2026-11-30): per-request objects, columns (one typed array per field) read from
// an object's fields, and columns in WebAssembly memory with the loops compiled from decode-loops.as.ts
// (`npx asc decode-loops.as.ts -O3 --runtime stub --noAssert --initialMemory 64 -o decode-loops.wasm`).
// Each variant does the work of a plain decode: check, advance the counts, write the token into a
// tail buffer, check stops, and build the step's id / count / computed arrays and the output rows;
// a block fill (64 a step) stands in for the KV trip or the hash with a counter. Nothing is a
// scheduler: this is the least a JavaScript step can cost. Run one variant per process (they share
// the driver, whose calls would otherwise turn polymorphic): node step-floor-probe.mjs <variant>,
// variant one of objects, columns, wasm.
import { readFileSync } from 'node:fs';

const n = 1024, BS = 16, SLOT = 256, STEPS = 3000, WARM = 1000;
const offsets = new Int32Array(n + 1).map((_, i) => i);
let slow = 0;
const variant = process.argv[2] ?? 'objects';

function drive(name, schedule, update) {
  const S = [], U = [];
  for (let s = 0; s < STEPS; s++) {
    const t0 = performance.now();
    const out = schedule();
    const t1 = performance.now();
    const toks = new Int32Array(n).map((_, i) => 1000 + ((s + i) % 1000));
    const colIds = out.ids.slice();
    const t2 = performance.now();
    update(out, colIds, toks);
    const t3 = performance.now();
    if (s >= WARM) { S.push((t1 - t0) * 1000); U.push((t3 - t2) * 1000); }
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  console.log(`${name.padEnd(22)} schedule p50 ${med(S).toFixed(1)} µs, update p50 ${med(U).toFixed(1)} µs`);
}

function outputRows(k) {
  const buf = new ArrayBuffer(4 * (3 * k + 1));
  return { ids: new Array(k), offsets: new Int32Array(buf, 0, k + 1), tokens: new Int32Array(buf, 4 * (k + 1), k), cached: new Int32Array(buf, 4 * (2 * k + 1), k) };
}

// 1. Objects: one per request, the fields a step reads first.
class Req {
  constructor(i) {
    this.numTokens = 128 + (i % 16); this.numComputed = this.numTokens - 1; this.placeholders = 0; this.spec = [];
    this.limit = Math.ceil(this.numTokens / BS) * BS; this.id = `d${i}`; this.status = 1; this.maxEnd = 1e9;
    this.blockOffset = this.numTokens % BS; this.tailBase = i * SLOT; this.tailPos = this.tailBase + (this.numTokens % SLOT);
    this.last = 0; this.minEnd = 0; this.eos = -1; this.stop = null; this.events = null; this.cached = 64;
  }
}
if (variant === 'objects') {
  const tailBuf = new Int32Array(n * SLOT);
  const reqs = Array.from({ length: n }, (_, i) => new Req(i));
  drive('objects', () => {
    const batch = new Array(n), ids = new Array(n), counts = new Array(n), computedOut = new Int32Array(n), samples = new Uint8Array(n);
    let k = 0;
    for (; k < n; k++) {
      const r = reqs[k];
      const c = r.numComputed;
      if (r.numTokens + r.placeholders - c !== 1 || r.spec.length !== 0) break;
      if (c + 1 > r.limit) { slow++; r.limit += BS; }
      computedOut[k] = c; batch[k] = r; ids[k] = r.id; counts[k] = 1; samples[k] = 1;
      r.numComputed = c + 1;
    }
    return { ids, counts, computedOut, batch, samples, k };
  }, (out, colIds, toks) => {
    const o = outputRows(out.k);
    for (let b = 0; b < out.k; b++) {
      const r = out.batch[b];
      if (r.status !== 1 || out.samples[b] !== 1 || colIds[b] !== r.id || offsets[b + 1] - offsets[b] !== 1 || r.events !== null) continue;
      const t = toks[offsets[b]];
      const nt = r.numTokens + 1; r.numTokens = nt; r.last = t;
      const p = r.tailPos; tailBuf[p] = t;
      const off = r.blockOffset + 1;
      if (off === BS) { slow++; r.blockOffset = 0; r.tailPos = p + 1 === r.tailBase + SLOT ? r.tailBase : p + 1; } else { r.blockOffset = off; r.tailPos = p + 1; }
      if (nt >= r.minEnd && (t === r.eos || (r.stop !== null && r.stop.includes(t)) || nt >= r.maxEnd)) slow++;
      o.tokens[b] = t; o.ids[b] = r.id; o.offsets[b + 1] = b + 1; o.cached[b] = r.cached;
    }
  });
}

// 2. Columns: one typed array per field, read from an object's fields.
function makeColumns(memory, base) {
  const col = (f) => (memory === null ? new Int32Array(n) : new Int32Array(memory.buffer, base + f * n * 4, n));
  const c = { numTokens: col(0), computed: col(1), placeholders: col(2), limit: col(3), blockOffset: col(4), tailPos: col(5), last: col(6), maxEnd: col(7), minEnd: col(8), eos: col(9), cached: col(10), flags: col(11), computedOut: col(12), tokens: col(13), tailBase: new Int32Array(n), ids: [], reqs: [] };
  for (let i = 0; i < n; i++) {
    c.ids.push(`d${i}`); c.reqs.push({ id: c.ids[i], index: i });
    c.numTokens[i] = 128 + (i % 16); c.computed[i] = c.numTokens[i] - 1; c.maxEnd[i] = 1e9; c.eos[i] = -1;
    c.blockOffset[i] = c.numTokens[i] % BS; c.tailBase[i] = i * SLOT; c.tailPos[i] = c.tailBase[i] + (c.numTokens[i] % SLOT); c.cached[i] = 64;
    c.limit[i] = Math.ceil(c.numTokens[i] / BS) * BS;
  }
  return c;
}
function columnSteps(C, tailBuf) {
  return [() => {
    const { numTokens, computed, placeholders, flags, limit, ids, reqs } = C;
    const computedOut = new Int32Array(n), sid = new Array(n), batch = new Array(n), counts = new Array(n), samples = new Uint8Array(n);
    let k = 0;
    for (; k < n; k++) {
      const c = computed[k];
      if (numTokens[k] + placeholders[k] - c !== 1 || flags[k] !== 0) break;
      if (c + 1 > limit[k]) { slow++; limit[k] += BS; }
      computedOut[k] = c; sid[k] = ids[k]; batch[k] = reqs[k]; counts[k] = 1; samples[k] = 1;
      computed[k] = c + 1;
    }
    return { ids: sid, counts, computedOut, batch, samples, k };
  }, (out, colIds, toks) => {
    const { numTokens, blockOffset, tailPos, tailBase, minEnd, eos, maxEnd, ids, cached } = C;
    const o = outputRows(out.k);
    for (let b = 0; b < out.k; b++) {
      const j = out.batch[b].index;
      const t = toks[offsets[b]];
      const nt = numTokens[j] + 1;
      const off = blockOffset[j] + 1;
      if (colIds[b] === ids[j] && off !== BS && (nt < minEnd[j] || (t !== eos[j] && nt < maxEnd[j]))) {
        numTokens[j] = nt; blockOffset[j] = off; const p = tailPos[j]; tailBuf[p] = t; tailPos[j] = p + 1;
        o.tokens[b] = t; o.ids[b] = ids[j]; o.offsets[b + 1] = b + 1; o.cached[b] = cached[j];
        continue;
      }
      slow++; numTokens[j] = nt; blockOffset[j] = 0; tailPos[j] = tailPos[j] + 1 === tailBase[j] + SLOT ? tailBase[j] : tailPos[j] + 1;
    }
  }];
}
if (variant === 'columns') drive('columns (fields)', ...columnSteps(makeColumns(null, 0), new Int32Array(n * SLOT)));
// 3. WebAssembly: the columns in its memory, the two loops compiled; JavaScript handles each block
// fill (the loop stops there) and builds the arrays with slices.
if (variant === 'wasm') {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL('./decode-loops.wasm', import.meta.url)));
  const X = instance.exports;
  const tailOff = 16 * n * 4;
  const need = tailOff + n * SLOT * 4;
  if (X.memory.buffer.byteLength < need) X.memory.grow(Math.ceil((need - X.memory.buffer.byteLength) / 65536));
  X.setCapacity(n);
  const C = makeColumns(X.memory, 0);
  const tails = new Int32Array(X.memory.buffer, tailOff, n * SLOT);
  drive('webassembly', () => {
    let i = 0, k = 0, budget = 8192;
    while (i < n) {
      const next = X.scheduleDecodes(i, n, k, budget, 1 << 30, 0);
      k += next - i; budget -= next - i; i = next;
      if (i >= n) break;
      slow++; C.limit[i] += BS; // the KV trip; the loop then takes the entry
    }
    return { ids: C.ids.slice(0, k), batch: C.reqs.slice(0, k), counts: new Array(k).fill(1), samples: new Uint8Array(k).fill(1), computedOut: C.computedOut.slice(0, k), k };
  }, (out, colIds, toks) => {
    const k = out.k;
    let m = 0;
    while (m < k && colIds[m] === out.ids[m] && offsets[m + 1] - offsets[m] === 1) m++;
    C.tokens.set(toks.subarray(0, m));
    let b = 0;
    while (b < m) {
      b = X.applyDecodes(b, m, BS, 1 << 30, 0, tailOff);
      if (b >= m) break;
      slow++; // the block fill: appended here
      C.numTokens[b]++; C.blockOffset[b] = 0; C.last[b] = C.tokens[b];
      const p = C.tailPos[b]; tails[p] = C.tokens[b]; C.tailPos[b] = p + 1 === C.tailBase[b] + SLOT ? C.tailBase[b] : p + 1;
      b++;
    }
    return { ids: colIds.slice(0, k), offsets: offsets.slice(0, k + 1), tokens: toks.slice(0, k), cached: C.cached.slice(0, k) };
  });
  const T = [];
  const nc = new Int32Array(X.memory.buffer, 1 * n * 4, n);
  const lim = new Int32Array(X.memory.buffer, 3 * n * 4, n);
  lim.fill(1e9);
  for (let s = 0; s < STEPS; s++) {
    const saved = nc.slice();
    const t = performance.now();
    X.scheduleDecodes(0, n, 0, 8192, 1 << 30, 0);
    T.push((performance.now() - t) * 1000);
    nc.set(saved);
  }
  T.sort((a, b) => a - b);
  console.log(`${'webassembly loop only'.padEnd(22)} schedule loop p50 ${T[T.length >> 1].toFixed(1)} µs (no block fills, no arrays)`);
}
if (slow === 0) throw new Error('no block fill happened: the probe is broken');
