const MARKER = Symbol.for('vllm-ts.error');

/** Options accepted by {@link VllmError}. */
export interface VllmErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * Base class of every error thrown by a vllm-ts package.
 *
 * Each error carries a stable string `code` that callers (and the HTTP server) switch on.
 * Use {@link VllmError.isInstance} rather than `instanceof`: it also recognises errors from a
 * second copy of this package in `node_modules`.
 *
 * @example
 * ```ts
 * try { pool.free([blockId]) } catch (e) { if (VllmError.isInstance(e) && e.code === 'double_free') { ... } }
 * ```
 */
export class VllmError extends Error {
  /** Stable machine-readable code, e.g. `invalid_sampling_params`. */
  readonly code: string;
  declare readonly cause?: unknown;
  private readonly [MARKER] = true;

  /**
   * @param code stable machine-readable code
   * @param message what was wrong, what was expected, what was received
   * @param options optional `cause`
   */
  constructor(code: string, message: string, options: VllmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  /**
   * True when `error` is a vllm-ts error, from this copy of the package or another.
   * @param error any thrown value
   */
  static isInstance(error: unknown): error is VllmError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/**
 * A broken internal invariant: this is a bug in vllm-ts, not in the caller's input.
 * Thrown by {@link invariant}.
 */
export class InternalError extends VllmError {
  /** @param message the invariant that failed */
  constructor(message: string, options: VllmErrorOptions = {}) {
    super('internal', `${message} (this is a bug in vllm-ts; please report it)`, options);
  }
}

/**
 * A caller passed an argument or option that is out of range or of the wrong type.
 * `field` names the argument, `expected` says what is allowed, `received` echoes what came in.
 */
export class InvalidArgumentError extends VllmError {
  /** Name of the offending argument or option, dotted for nested fields. */
  readonly field: string;
  /** What the field accepts, in words (e.g. `a number in [0, 2]`). */
  readonly expected: string;
  /** The value that was received. */
  readonly received: unknown;

  /**
   * @param code stable code (e.g. `invalid_sampling_params`, `invalid_option`)
   * @param scope prefix naming where the field lives (e.g. `SamplingParams`)
   * @param field the offending field
   * @param expected what is allowed
   * @param received what was passed
   * @param hint optional extra sentence (e.g. a did-you-mean)
   */
  constructor(code: string, scope: string, field: string, expected: string, received: unknown, hint?: string) {
    super(code, `${scope}.${field} must be ${expected} (got ${describeValue(received)})${hint ? `. ${hint}` : ''}`);
    this.field = field;
    this.expected = expected;
    this.received = received;
  }
}

/**
 * Throws {@link InternalError} when `condition` is false. Use for invariants that only a bug can break.
 * @param condition the invariant
 * @param message what should have held
 */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InternalError(typeof message === 'function' ? message() : message);
}

/**
 * Short, safe rendering of a value for an error message (strings quoted, long values cut).
 * @param value anything
 */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'number' || typeof value === 'boolean' || value == null) text = String(value);
  else if (typeof value === 'function') text = 'a function';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
