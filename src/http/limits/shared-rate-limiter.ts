import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../logger.js';
import { RateLimiter, type RateDecision, type RateLimitSpec } from './rate-limiter.js';

/** What admission takes tokens from: this process's buckets, or counters every replica shares. */
export type RequestLimiter = RateLimiter | SharedRateLimiter;

/**
 * The limiter the settings ask for: shared through Redis when `url` is set, this process's buckets
 * otherwise. Resolves once the first connection attempt has settled, so the first requests already
 * count in Redis; an unreachable Redis does not stop the start (its requests are limited locally).
 */
export async function requestLimiter(url: string, logger: Logger): Promise<RequestLimiter> {
  if (url === '') return new RateLimiter();
  const limiter = new SharedRateLimiter({ url, logger });
  await limiter.settled;
  return limiter;
}

/**
 * The Redis window a token bucket of `rps` and `burst` maps to. rate-limiter-flexible counts in
 * fixed windows, and Redis expires its keys in whole seconds, so the bucket becomes `burst` points
 * over `burst / rps` seconds, that window rounded to whole seconds (at least one), and the points
 * then the rate's worth of the window so the long-run rate holds: 5/s with bursts of 10 is 10 points
 * every 2 s. A burst under half the rate therefore acts as one second's worth. Unlike the bucket,
 * which gives a token back every 1/rps s, a window gives all its points back when it ends, so a
 * client that spends one window's points at its end and the next window's at its start gets two
 * bursts in a row; over any stretch started by its first request it gets no more than the bucket's
 * rate × time + burst. BurstyRateLimiter (a per-second window plus a second one for the burst) would
 * cost a second Redis round trip on every refusal without being closer to a bucket; execEvenly
 * would delay answers instead of refusing them.
 */
export function sharedWindow(limit: RateLimitSpec): { points: number; durationS: number } {
  const durationS = Math.max(1, Math.round(limit.burst / limit.rps));
  return { points: Math.max(1, Math.round(limit.rps * durationS)), durationS };
}

export interface SharedRateLimiterOptions {
  /** redis:// or rediss:// (TLS); a database number in the path keeps deployments on one Redis apart. */
  url: string;
  logger: Logger;
  /** Names the counters in Redis; each window's key adds its size and the client's id. */
  keyPrefix?: string;
  /** How long a connection attempt may take before it counts as failed. */
  connectTimeoutMs?: number;
  /** How long a request waits for Redis before its own bucket decides. */
  commandTimeoutMs?: number;
}

const ADMITTED: RateDecision = { ok: true };

/**
 * Rate limits every replica shares: each request consumes a point from the client's window in Redis
 * (rate-limiter-flexible's atomic script). While Redis is unreachable each replica decides alone,
 * from in-process windows of the same size (the library's insurance limiter), and says so once per
 * outage. No request waits on a dead Redis: nothing is queued while disconnected, and a command that
 * gets no answer within `commandTimeoutMs` fails over to the local window.
 */
export class SharedRateLimiter {
  private readonly client: Redis;
  private readonly logger: Logger;
  private readonly keyPrefix: string;
  private readonly windows = new Map<string, RateLimiterRedis>();
  /** Where Redis is, for log lines: host and port, never credentials. */
  private readonly where: string;
  private state: 'starting' | 'shared' | 'local' = 'starting';
  private closing = false;
  private settle!: () => void;
  /** Resolves when the first connection attempt has succeeded or failed (within the connect timeout). */
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(options: SharedRateLimiterOptions) {
    this.logger = options.logger;
    this.keyPrefix = options.keyPrefix ?? 'sightline:rate';
    this.where = new URL(options.url).host;
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      // Commands written before a connection drops fail at once instead of waiting for a reconnect.
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      commandTimeout: options.commandTimeoutMs ?? 500,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.client.on('ready', () => this.reached());
    this.client.on('error', (err: Error) => this.lost(err.message));
    this.client.on('close', () => this.lost('connection closed'));
  }

  /** Consumes a point from `id`'s window under `limit`; a limit of 0 requests/s never refuses (and answers at once). */
  take(id: string, limit: RateLimitSpec): RateDecision | Promise<RateDecision> {
    if (limit.rps <= 0) return ADMITTED;
    return this.windowFor(limit)
      .consume(id)
      .then(
        () => ADMITTED,
        (rejection: unknown) => {
          // The insurance limiter answers every store error, so only a refusal arrives here.
          if (rejection instanceof RateLimiterRes) return { ok: false, retryAfterS: rejection.msBeforeNext / 1000, limit };
          throw rejection;
        },
      );
  }

  /** Closes the connection to Redis; takes no longer than one command timeout. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private windowFor(limit: RateLimitSpec): RateLimiterRedis {
    const spec = `${limit.rps}/${limit.burst}`;
    let window = this.windows.get(spec);
    if (window === undefined) {
      const { points, durationS } = sharedWindow(limit);
      // The window's size is in the key: a key whose limit changes starts over, as a local bucket does,
      // and replicas running different settings during a rollout do not mix their counts.
      const keyPrefix = `${this.keyPrefix}:${points}/${durationS}s`;
      window = new RateLimiterRedis({
        storeClient: this.client,
        keyPrefix,
        points,
        duration: durationS,
        // Not connected: straight to the local window, without handing the command to the client.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationS }),
      });
      this.windows.set(spec, window);
    }
    return window;
  }

  private reached(): void {
    if (this.state === 'local') this.logger.info({ rateLimitStore: this.where }, 'rate-limit store reachable again: limits are shared across replicas');
    else this.logger.info({ rateLimitStore: this.where }, 'rate limits shared across replicas through Redis');
    this.state = 'shared';
    this.settle();
  }

  private lost(reason: string): void {
    this.settle();
    if (this.closing || this.state === 'local') return;
    this.state = 'local';
    this.logger.warn({ rateLimitStore: this.where, reason }, 'rate-limit store unreachable: this replica limits with its own buckets until it is back');
  }
}
