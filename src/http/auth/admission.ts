import { SightlineError } from '../../errors.js';
import { errorReply } from '../error-reply.js';
import type { Reply } from '../reply.js';
import type { RateDecision, RateLimiter, RateLimitSpec } from '../limits/rate-limiter.js';
import type { RequestLimiter } from '../limits/shared-rate-limiter.js';
import type { KeyRing } from './key-ring.js';
import type { Access } from './scopes.js';

export interface AdmissionOptions {
  keys: KeyRing;
  /** This process's buckets (answers at once), or counters shared with other replicas (answers later). */
  limiter: RequestLimiter;
  /** Applies to keys without a limit of their own, and to clients when no keys are configured. */
  rateLimit: RateLimitSpec;
  /**
   * Failed authentications (401) per client address, in buckets of their own: once an address has
   * spent its budget, every keyed request from it gets 429 until the budget refills, whatever key
   * it presents, so a guessed key cannot be told apart from a wrong one. Off when `rps` is 0.
   * These stay in each replica even when request limits are shared: a guesser spread over N replicas
   * gets N budgets, still far too few guesses to find a key, and the check stays synchronous.
   */
  authFailures?: { limiter: RateLimiter; limit: RateLimitSpec };
  onRateLimited?: (route: string) => void;
}

/** What admission needs to know about one request or upgrade. */
export interface Attempt {
  /** Route label for metrics. */
  route: string;
  key: string | undefined;
  clientAddress: () => string;
  /** Text added to the 401 message for a missing key, e.g. where else a key is accepted; called only then. */
  hint?: () => string;
}

export type Verdict = { ok: true; keyName: string | undefined } | { ok: false; reply: Reply };

const REALM = 'Bearer realm="sightline"';
const ADMITTED_ANONYMOUS: Verdict = { ok: true, keyName: undefined };

/**
 * Decides whether a request may reach its route: public routes always may; otherwise the request
 * needs a configured key holding the route's scope (when any keys are configured), then a token
 * from its rate-limit bucket. Public routes are never rate limited, so probes and scrapers keep
 * working under load.
 */
export class Admission {
  private readonly options: AdmissionOptions;

  constructor(options: AdmissionOptions) {
    this.options = options;
  }

  /**
   * The verdict at once, or a promise of it when the request's token comes from the shared store;
   * with local buckets it is always synchronous (every request passes here).
   */
  check(access: Access, attempt: Attempt): Verdict | Promise<Verdict> {
    if (access === 'public') return ADMITTED_ANONYMOUS;
    const { keys, limiter, rateLimit } = this.options;
    if (keys.size === 0) {
      if (rateLimit.rps <= 0) return ADMITTED_ANONYMOUS;
      const address = attempt.clientAddress();
      const decision = limiter.take(`address ${address}`, rateLimit);
      if (decision instanceof Promise) return decision.then((d) => this.addressDecided(d, address, attempt.route));
      return this.addressDecided(decision, address, attempt.route);
    }
    const failures = this.options.authFailures;
    // Most clients never fail: their address is looked up only once some address has.
    const guarded = failures !== undefined && failures.limit.rps > 0 && failures.limiter.trackedClients > 0;
    if (guarded) {
      const address = attempt.clientAddress();
      const standing = failures.limiter.peek(`address ${address}`, failures.limit);
      if (!standing.ok) return this.limited(attempt.route, `failed authentications from client ${address}`, standing.limit, standing.retryAfterS, 'per minute');
    }
    if (attempt.key === undefined) {
      this.failedAuthentication(attempt);
      return refuse(401, 'unauthorized', `an API key is required: send it as X-API-Key or Authorization: Bearer${attempt.hint?.() ?? ''}`, REALM);
    }
    const key = keys.find(attempt.key);
    if (key === undefined) {
      this.failedAuthentication(attempt);
      return refuse(401, 'unauthorized', 'the API key is not valid', `${REALM}, error="invalid_token"`);
    }
    if (!key.scopes.has(access)) {
      return refuse(
        403,
        'forbidden',
        `API key ${JSON.stringify(key.name)} lacks the ${access} scope this route needs`,
        `${REALM}, error="insufficient_scope", scope="${access}"`,
      );
    }
    const limit = key.rateLimit ?? rateLimit;
    const decision = limiter.take(`key ${key.name}`, limit);
    if (decision instanceof Promise) return decision.then((d) => this.keyDecided(d, key.name, attempt.route));
    return this.keyDecided(decision, key.name, attempt.route);
  }

  private addressDecided(decision: RateDecision, address: string, route: string): Verdict {
    return decision.ok ? ADMITTED_ANONYMOUS : this.limited(route, `client ${address}`, decision.limit, decision.retryAfterS);
  }

  private keyDecided(decision: RateDecision, keyName: string, route: string): Verdict {
    return decision.ok ? { ok: true, keyName } : this.limited(route, `API key ${JSON.stringify(keyName)}`, decision.limit, decision.retryAfterS);
  }

  /** Spends one of the address's failed-authentication tokens. */
  private failedAuthentication(attempt: Attempt): void {
    const failures = this.options.authFailures;
    if (failures === undefined || failures.limit.rps <= 0) return;
    failures.limiter.take(`address ${attempt.clientAddress()}`, failures.limit);
  }

  private limited(route: string, who: string, limit: RateLimitSpec, retryAfterS: number, unit: 'per second' | 'per minute' = 'per second'): Verdict {
    this.options.onRateLimited?.(route);
    const wait = Math.round(retryAfterS * 1000) / 1000;
    const rate = unit === 'per second' ? `${limit.rps} requests/s` : `${Math.round(limit.rps * 60 * 1000) / 1000} per minute`;
    const err = new SightlineError(429, 'rate_limited', `rate limit of ${rate} (burst ${limit.burst}) exceeded for ${who}; retry in ${wait} s`, {
      retryAfter: retryAfterS,
    });
    return { ok: false, reply: errorReply(err) };
  }
}

function refuse(status: 401 | 403, code: string, message: string, challenge: string): Verdict {
  const reply = errorReply(new SightlineError(status, code, message));
  reply.headers = { ...reply.headers, 'www-authenticate': challenge };
  return { ok: false, reply };
}
