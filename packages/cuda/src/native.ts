// Declare-only typings of vllm_cuda.node. Addresses are bigints; 0n is the legacy default stream.
// Argument order matches native/bindings/*.cc; src/ops/*.ts validates before calling.

/** @internal */
export interface NativeProbe {
  runtimeVersion: number;
  driverVersion: number;
  deviceCount: number;
  error?: string;
}

/** @internal */
export interface NativeBinding {
  probe(): NativeProbe;
  deviceProperties(device: number): {
    name: string;
    major: number;
    minor: number;
    multiProcessorCount: number;
    totalGlobalMem: number;
    l2CacheSize: number;
    sharedMemPerBlockOptin: number;
  };
  setDevice(device: number): void;
  memGetInfo(): { free: number; total: number };
  malloc(bytes: number): bigint;
  free(ptr: bigint): void;
  hostAlloc(bytes: number): ArrayBuffer;
  copyHostToDevice(dst: bigint, src: ArrayBufferView | ArrayBuffer, bytes: number, stream: bigint, wait: boolean): void;
  copyDeviceToHost(dst: ArrayBufferView | ArrayBuffer, src: bigint, bytes: number, stream: bigint, wait: boolean): void;
  copyDeviceToDevice(dst: bigint, src: bigint, bytes: number, stream: bigint): void;
  memset(ptr: bigint, value: number, bytes: number, stream: bigint): void;
  deviceSynchronize(): void;
  getLastError(): void;
  streamCreate(): bigint;
  streamDestroy(stream: bigint): void;
  streamSynchronize(stream: bigint): void;
  streamSynchronizeAsync(stream: bigint): Promise<void>;
  streamWaitEvent(stream: bigint, event: bigint): void;
  eventCreate(timing: boolean): bigint;
  eventDestroy(event: bigint): void;
  eventRecord(event: bigint, stream: bigint): void;
  eventSynchronize(event: bigint): void;
  eventElapsedMs(start: bigint, end: bigint): number;
  streamBeginCapture(stream: bigint): void;
  streamEndCapture(stream: bigint): [bigint, bigint];
  graphLaunch(exec: bigint, stream: bigint): void;
  graphDestroy(graph: bigint, exec: bigint): void;
  embedding(dtype: number, out: bigint, ids: bigint, table: bigint, numTokens: number, vocabSize: number, hidden: number, stream: bigint): void;
  rmsNorm(dtype: number, out: bigint, input: bigint, weight: bigint, eps: number, numTokens: number, hidden: number, stream: bigint): void;
  fusedAddRmsNorm(dtype: number, input: bigint, residual: bigint, weight: bigint, eps: number, numTokens: number, hidden: number, stream: bigint): void;
  ropeNeox(
    dtype: number, positions: bigint, q: bigint, qStride: number, k: bigint, kStride: number, cosSin: bigint,
    numTokens: number, numHeads: number, numKvHeads: number, headDim: number, rotaryDim: number, stream: bigint,
  ): void;
  writeKvCache(
    dtype: number, key: bigint, keyStride: number, value: bigint, valueStride: number, keyCache: bigint, valueCache: bigint,
    slotMapping: bigint, numTokens: number, numKvHeads: number, headDim: number, stream: bigint,
  ): void;
  pagedAttention(
    dtype: number, out: bigint, query: bigint, queryStride: number, keyCache: bigint, valueCache: bigint, blockTables: bigint,
    maxBlocksPerSeq: number, seqLens: bigint, queryStartLoc: bigint, numSeqs: number, maxQueryLen: number, maxSeqLen: number,
    numHeads: number, numKvHeads: number, headDim: number, blockSize: number, scale: number, workspace: bigint,
    stream: bigint, isDecode: boolean,
  ): void;
  siluAndMul(dtype: number, out: bigint, input: bigint, numTokens: number, d: number, stream: bigint): void;
  argmax(dtype: number, out: bigint, logits: bigint, numRows: number, vocabSize: number, stream: bigint): void;
  sample(
    out: bigint, logits: bigint, numRows: number, vocabSize: number, temperature: bigint, topK: bigint, topP: bigint,
    minP: bigint, uniform: bigint, stream: bigint,
  ): void;
  applyPenalties(
    logits: bigint, counts: bigint, numRows: number, vocabSize: number, promptTokens: bigint, promptWidth: number,
    outputTokens: bigint, outputWidth: number, repetition: bigint, frequency: bigint, presence: bigint, stream: bigint,
  ): void;
  gemm(
    out: bigint, a: bigint, w: bigint, m: number, n: number, k: number, lda: number, ldw: number, ldc: number,
    inDtype: number, outDtype: number, alpha: number, beta: number, stream: bigint,
  ): void;
  gemmInit(): string;
  programmaticLaunch(): { supported: boolean; active: boolean };
  setProgrammaticLaunch(requested: boolean): boolean;
}
