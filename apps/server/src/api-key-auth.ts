import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

/** Path prefixes that need the API key, as in vLLM (health, metrics and tokenizer routes stay open). */
const PROTECTED_PREFIXES = ['/v1', '/v2', '/inference'];

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <key>` against the configured keys. Keys are compared as SHA-256
 * digests with `timingSafeEqual`, so the time taken depends on neither the key's length nor on
 * how many leading characters match.
 */
export class ApiKeyAuth {
  readonly #digests: Buffer[];

  /** @param keys the accepted keys (empty: no authentication) */
  constructor(keys: readonly string[]) {
    this.#digests = keys.filter((k) => k !== '').map(digest);
  }

  /** True when at least one key is configured. */
  get isEnabled(): boolean {
    return this.#digests.length > 0;
  }

  /**
   * @param method the HTTP method
   * @param url the request path (query string allowed)
   * @param authorization the `Authorization` header
   * @throws ApiError (`invalid_api_key`, 401) when the path needs a key and none of them matches
   */
  check(method: string, url: string, authorization: string | undefined): void {
    if (!this.isEnabled || method === 'OPTIONS') return;
    const path = url.split('?', 1)[0]!;
    if (!PROTECTED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return;
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match) throw new ApiError('invalid_api_key', 'Missing API key: send the header "Authorization: Bearer <key>"');
    const given = digest(match[1]!.trim());
    let ok = false;
    // Every key is compared, whatever matched first.
    for (const d of this.#digests) ok = timingSafeEqual(given, d) || ok;
    if (!ok) throw new ApiError('invalid_api_key', 'Incorrect API key provided');
  }
}
