import { getBinding } from './binding.js';
import { DeviceMemoryError } from './errors.js';

/**
 * A non-blocking CUDA stream. Kernels enqueued on one stream run in order; work on different
 * streams may overlap. Destroy it explicitly when done.
 */
export class CudaStream {
  #handle: bigint | null;

  /** @internal Use {@link CudaStream.create}. */
  constructor(handle: bigint) {
    this.#handle = handle;
  }

  /**
   * Creates a stream that does not synchronize with the legacy default stream.
   * @returns the new stream
   * @throws {CudaUnavailableError} when CUDA is unavailable
   * @throws {CudaError} when the runtime fails
   */
  static create(): CudaStream {
    return new CudaStream(getBinding().streamCreate());
  }

  /** The native `cudaStream_t`. @throws {DeviceMemoryError} after destroy() */
  get handle(): bigint {
    if (this.#handle === null) throw new DeviceMemoryError('CudaStream used after destroy()');
    return this.#handle;
  }

  /** Blocks until all work enqueued so far has finished. @throws {CudaError} on a failed kernel */
  synchronize(): void {
    getBinding().streamSynchronize(this.handle);
  }

  /**
   * Resolves when all work enqueued so far has finished, waiting off the event loop.
   * @returns a promise that rejects with {@link CudaError} on a failed kernel
   */
  synchronizeAsync(): Promise<void> {
    return getBinding().streamSynchronizeAsync(this.handle);
  }

  /** Makes later work on this stream wait for `event`. @param event a recorded event */
  waitEvent(event: CudaEvent): void {
    getBinding().streamWaitEvent(this.handle, event.handle);
  }

  /** Destroys the stream (pending work still completes). Idempotent. */
  destroy(): void {
    if (this.#handle === null) return;
    getBinding().streamDestroy(this.#handle);
    this.#handle = null;
  }
}

/** @internal The stream handle for an optional stream option (0n: the legacy default stream). */
export function streamHandle(stream: CudaStream | undefined): bigint {
  return stream === undefined ? 0n : stream.handle;
}

/** A CUDA event: a point in a stream to wait on or to time against. */
export class CudaEvent {
  #handle: bigint | null;

  /** @internal Use {@link CudaEvent.create}. */
  constructor(handle: bigint) {
    this.#handle = handle;
  }

  /**
   * Creates an event.
   * @param options `timing: true` to allow {@link CudaEvent.elapsedMs} (slightly costlier to record)
   * @returns the event
   * @throws {CudaError} when the runtime fails
   */
  static create(options: { timing?: boolean } = {}): CudaEvent {
    return new CudaEvent(getBinding().eventCreate(options.timing ?? false));
  }

  /** The native `cudaEvent_t`. @throws {DeviceMemoryError} after destroy() */
  get handle(): bigint {
    if (this.#handle === null) throw new DeviceMemoryError('CudaEvent used after destroy()');
    return this.#handle;
  }

  /** Records the event at the current end of `stream` (default: the legacy stream). @param stream the stream */
  record(stream?: CudaStream): void {
    getBinding().eventRecord(this.handle, streamHandle(stream));
  }

  /** Blocks until the recorded work has finished. */
  synchronize(): void {
    getBinding().eventSynchronize(this.handle);
  }

  /**
   * Milliseconds between `start` and this event (both recorded with `timing: true`, both complete).
   * @param start the earlier event
   * @returns elapsed device time in ms
   */
  elapsedMs(start: CudaEvent): number {
    return getBinding().eventElapsedMs(start.handle, this.handle);
  }

  /** Destroys the event. Idempotent. */
  destroy(): void {
    if (this.#handle === null) return;
    getBinding().eventDestroy(this.#handle);
    this.#handle = null;
  }
}

/**
 * A captured, instantiated CUDA graph: a fixed sequence of kernels (with fixed addresses and
 * sizes) replayed with one launch. Capture every buffer the graph touches before capturing and
 * keep it alive and in place while the graph exists; only the contents may change between replays.
 */
export class CudaGraph {
  #graph: bigint | null;
  #exec: bigint;

  private constructor(graph: bigint, exec: bigint) {
    this.#graph = graph;
    this.#exec = exec;
  }

  /**
   * Captures the work `body` enqueues on `stream` (which must not be the legacy default stream).
   * Nothing runs during capture. cuBLASLt must have run once before (its workspace is allocated then).
   * @param stream a stream from {@link CudaStream.create}
   * @param body enqueues the work, passing `stream` to every op
   * @returns the instantiated graph
   * @throws {CudaError} when capture fails (e.g. a synchronizing call inside `body`)
   */
  static capture(stream: CudaStream, body: () => void): CudaGraph {
    const b = getBinding();
    b.streamBeginCapture(stream.handle);
    try {
      body();
    } catch (error) {
      try {
        const [graph, exec] = b.streamEndCapture(stream.handle);
        b.graphDestroy(graph, exec);
      } catch {
        // The capture was already invalidated; the original error is the one to report.
      }
      throw error;
    }
    const [graph, exec] = b.streamEndCapture(stream.handle);
    return new CudaGraph(graph, exec);
  }

  /** Enqueues one replay on `stream`. @param stream the stream to replay on */
  replay(stream: CudaStream): void {
    if (this.#graph === null) throw new DeviceMemoryError('CudaGraph replayed after destroy()');
    getBinding().graphLaunch(this.#exec, stream.handle);
  }

  /** Frees the graph. Idempotent. */
  destroy(): void {
    if (this.#graph === null) return;
    getBinding().graphDestroy(this.#graph, this.#exec);
    this.#graph = null;
  }
}
