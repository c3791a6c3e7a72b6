// The only module that loads vllm_cuda.node. It never throws at import: availability is a value.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CudaError, CudaUnavailableError } from './errors.js';
import type { NativeBinding } from './native.js';

interface LoadState {
  binding: NativeBinding | null;
  reason: string | null;
  path: string | null;
}

let state: LoadState | null = null;

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function candidatePaths(): string[] {
  const paths: string[] = [];
  const fromEnv = process.env.VLLM_TS_CUDA_ADDON;
  if (fromEnv) paths.push(fromEnv);
  paths.push(`${packageRoot}build/Release/vllm_cuda.node`, `${packageRoot}build/Debug/vllm_cuda.node`);
  return paths;
}

function buildReason(): string {
  try {
    const info = JSON.parse(readFileSync(`${packageRoot}build/build-info.json`, 'utf8')) as { built?: boolean; reason?: string };
    if (info.built === false && info.reason) return `the addon was not built: ${info.reason}`;
  } catch {
    // No build record: the package's install/build script never ran.
  }
  return 'the addon was not built (run `npm run build -w @vllm-ts/cuda` on a machine with nvcc)';
}

function wrapNativeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const e = error as Error & Partial<Record<'library' | 'call' | 'statusName' | 'location', string>> & { status?: number };
  if (e.library === undefined) return error;
  return new CudaError(
    e.message,
    {
      library: e.library,
      call: e.call ?? '',
      status: e.status ?? -1,
      statusName: e.statusName ?? '',
      location: e.location ?? '',
    },
    error,
  );
}

/** Wraps each native function so native status errors surface as {@link CudaError} with a JS stack. */
function wrap(raw: Record<string, unknown>): NativeBinding {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      try {
        const result = (fn as (...a: unknown[]) => unknown)(...args);
        return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(wrapNativeError(err))) : result;
      } catch (err) {
        throw wrapNativeError(err);
      }
    };
  }
  return out as unknown as NativeBinding;
}

function load(): LoadState {
  if (state) return state;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidatePaths()) {
    if (!existsSync(path)) continue;
    let raw: Record<string, unknown>;
    try {
      raw = require(path) as Record<string, unknown>;
    } catch (error) {
      failures.push(`${path} failed to load: ${(error as Error).message}`);
      continue;
    }
    const binding = wrap(raw);
    const probe = binding.probe();
    if (probe.deviceCount > 0) return (state = { binding, reason: null, path });
    const why = probe.error ?? 'no CUDA device found';
    const hint = /InsufficientDriver|NoDevice|driver/i.test(why) ? ' (no NVIDIA driver or GPU on this machine)' : '';
    return (state = { binding: null, reason: `${why}${hint}`, path });
  }
  const reason = failures.length > 0 ? failures.join('; ') : buildReason();
  return (state = { binding: null, reason, path: null });
}

/**
 * Whether CUDA kernels can run here: the addon is built, loads, and sees at least one GPU.
 * @returns true when the kernels can be called
 * @example
 * ```ts
 * import { isCudaAvailable, cudaUnavailableReason } from '@vllm-ts/cuda';
 * if (!isCudaAvailable()) console.log(`CPU only: ${cudaUnavailableReason()}`);
 * ```
 */
export function isCudaAvailable(): boolean {
  return load().binding !== null;
}

/**
 * Why CUDA is unavailable, or null when it is available.
 * @returns a sentence naming the cause (addon not built and why, load failure, no driver, no GPU)
 */
export function cudaUnavailableReason(): string | null {
  return load().reason;
}

/**
 * @internal The loaded addon.
 * @throws {CudaUnavailableError} when CUDA is unavailable
 */
export function getBinding(): NativeBinding {
  const s = load();
  if (!s.binding) throw new CudaUnavailableError(s.reason ?? 'unknown');
  return s.binding;
}
