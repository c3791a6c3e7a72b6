import type { Request } from './request.js';

/**
 * The waiting queue of the V1 scheduler. `fcfs`: arrival order, and a preempted request goes back
 * to the front. `priority`: lowest `priority` value first, then earliest arrival, then the order
 * requests were added; a preempted request is re-inserted by that same order (no boost), as in vLLM.
 * @internal
 */
export interface RequestQueue {
  readonly length: number;
  /** Adds a newly arrived request. */
  add(request: Request): void;
  /** Puts a preempted request back (front under FCFS; by order under priority). */
  prepend(request: Request): void;
  /** The next request to admit, or undefined. */
  peek(): Request | undefined;
  /** Removes and returns the next request. */
  pop(): Request | undefined;
  /** Removes every request in `requests` (O(n)). */
  removeAll(requests: ReadonlySet<Request>): void;
  /** The queued requests, in admission order. */
  toArray(): Request[];
}

/**
 * First come, first served: a ring-buffer deque (O(1) at both ends).
 * @internal
 */
export class FcfsRequestQueue implements RequestQueue {
  private buf: (Request | undefined)[] = Array.from({ length: 16 });
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  add(request: Request): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) & (this.buf.length - 1)] = request;
    this.size++;
  }

  prepend(request: Request): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1) & (this.buf.length - 1);
    this.buf[this.head] = request;
    this.size++;
  }

  peek(): Request | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  pop(): Request | undefined {
    if (this.size === 0) return undefined;
    const r = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.size--;
    return r;
  }

  removeAll(requests: ReadonlySet<Request>): void {
    const kept = this.toArray().filter((r) => !requests.has(r));
    this.buf.fill(undefined);
    this.head = 0;
    this.size = 0;
    for (const r of kept) this.add(r);
  }

  toArray(): Request[] {
    const out: Request[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.buf[(this.head + i) & (this.buf.length - 1)]!);
    return out;
  }

  private grow(): void {
    const items = this.toArray();
    this.buf = Array.from({ length: this.buf.length * 2 });
    for (let i = 0; i < items.length; i++) this.buf[i] = items[i];
    this.head = 0;
  }
}

/**
 * Priority order (a binary min-heap): lower `priority`, then earlier `arrivalTime`, then earlier `seq`.
 * @internal
 */
export class PriorityRequestQueue implements RequestQueue {
  private heap: Request[] = [];

  get length(): number {
    return this.heap.length;
  }

  add(request: Request): void {
    const h = this.heap;
    h.push(request);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  prepend(request: Request): void {
    this.add(request);
  }

  peek(): Request | undefined {
    return this.heap[0];
  }

  pop(): Request | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  removeAll(requests: ReadonlySet<Request>): void {
    const kept = this.heap.filter((r) => !requests.has(r));
    this.heap = [];
    for (const r of kept) this.add(r);
  }

  toArray(): Request[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : 1));
  }
}

/**
 * True when `a` is admitted (and preempted) before `b` under the priority policy.
 * @internal
 */
export function before(a: Request, b: Request): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (a.arrivalTime !== b.arrivalTime) return a.arrivalTime < b.arrivalTime;
  return a.seq < b.seq;
}
