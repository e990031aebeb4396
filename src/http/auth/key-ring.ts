import { createHash, timingSafeEqual } from 'node:crypto';
import type { RateLimitSpec } from '../limits/rate-limiter.js';
import type { Scope } from './scopes.js';

export interface ApiKey {
  /** Shown in logs and errors in place of the key, which is never shown. */
  readonly name: string;
  /** SHA-256 of the key. */
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  /** Overrides the server-wide rate limit for this key. */
  readonly rateLimit?: RateLimitSpec;
}

export const digestOf = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** The configured keys. Only digests are kept, so a heap dump does not reveal keys from the file. */
export class KeyRing {
  private readonly keys: readonly ApiKey[];

  constructor(keys: readonly ApiKey[]) {
    const names = new Set<string>();
    const digests = new Set<string>();
    for (const key of keys) {
      if (names.has(key.name)) throw new Error(`API key name ${JSON.stringify(key.name)} is used twice`);
      const hex = key.digest.toString('hex');
      if (digests.has(hex)) throw new Error(`API key ${JSON.stringify(key.name)} is configured twice (same key as another entry)`);
      names.add(key.name);
      digests.add(hex);
    }
    this.keys = keys;
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * The key whose digest matches. Every stored digest is compared, in constant time and without
   * stopping at a match, so response timing tells nothing about how close a guess was or which
   * entry matched. Comparing digests also makes the inputs the same length, which
   * timingSafeEqual requires.
   */
  find(presented: string): ApiKey | undefined {
    const digest = digestOf(presented);
    let found: ApiKey | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.digest)) found = key;
    }
    return found;
  }
}
