import { performance } from 'node:perf_hooks';
import { TokenBucket } from './token-bucket.js';

/** Requests per second and bucket size for one client or key; `rps` 0 means unlimited. */
export interface RateLimitSpec {
  rps: number;
  burst: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterS: number; limit: RateLimitSpec };

/** Buckets that refilled completely are forgotten this often, so one-off clients do not pile up. */
const SWEEP_INTERVAL_S = 60;

/** One token bucket per client identity (an API key's name, or an address when keys are off). */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? (() => performance.now() / 1000);
    this.lastSweep = this.now();
  }

  get trackedClients(): number {
    return this.buckets.size;
  }

  /** Whether `id`'s bucket has a token under `limit`, taking none; a client without a bucket has. */
  peek(id: string, limit: RateLimitSpec): RateDecision {
    if (limit.rps <= 0) return { ok: true };
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_INTERVAL_S) this.sweep(now);
    const bucket = this.buckets.get(id);
    if (bucket === undefined || bucket.rate !== limit.rps || bucket.capacity !== limit.burst) return { ok: true };
    const wait = bucket.wait(now);
    return wait === 0 ? { ok: true } : { ok: false, retryAfterS: wait, limit };
  }

  /** Takes a token from `id`'s bucket under `limit`; a limit of 0 requests/s never refuses. */
  take(id: string, limit: RateLimitSpec): RateDecision {
    if (limit.rps <= 0) return { ok: true };
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_INTERVAL_S) this.sweep(now);
    let bucket = this.buckets.get(id);
    // A key whose limit changed (another spec for the same id) starts over under the new one.
    if (bucket === undefined || bucket.rate !== limit.rps || bucket.capacity !== limit.burst) {
      bucket = new TokenBucket(limit.burst, limit.rps, now);
      this.buckets.set(id, bucket);
    }
    const wait = bucket.take(now);
    return wait === 0 ? { ok: true } : { ok: false, retryAfterS: wait, limit };
  }

  /** Nothing to release: the buckets live in this process. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(id);
  }
}
