import { SightlineError } from '../../errors.js';
import { errorReply } from '../error-reply.js';
import type { Reply } from '../reply.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { KeyRing, RateLimitSpec } from './key-ring.js';
import type { Access } from './scopes.js';

export interface AdmissionOptions {
  keys: KeyRing;
  limiter: RateLimiter;
  /** Applies to keys without a limit of their own, and to clients when no keys are configured. */
  rateLimit: RateLimitSpec;
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

  check(access: Access, attempt: Attempt): Verdict {
    if (access === 'public') return ADMITTED_ANONYMOUS;
    const { keys, limiter, rateLimit } = this.options;
    if (keys.size === 0) {
      if (rateLimit.rps <= 0) return ADMITTED_ANONYMOUS;
      const address = attempt.clientAddress();
      const decision = limiter.take(`address ${address}`, rateLimit);
      return decision.ok ? ADMITTED_ANONYMOUS : this.limited(attempt.route, `client ${address}`, decision.limit, decision.retryAfterS);
    }
    if (attempt.key === undefined) {
      return refuse(401, 'unauthorized', `an API key is required: send it as X-API-Key or Authorization: Bearer${attempt.hint?.() ?? ''}`, REALM);
    }
    const key = keys.find(attempt.key);
    if (key === undefined) return refuse(401, 'unauthorized', 'the API key is not valid', `${REALM}, error="invalid_token"`);
    if (!key.scopes.has(access)) {
      return refuse(403, 'forbidden', `API key ${JSON.stringify(key.name)} lacks the ${access} scope this route needs`, `${REALM}, error="insufficient_scope", scope="${access}"`);
    }
    const limit = key.rateLimit ?? rateLimit;
    const decision = limiter.take(`key ${key.name}`, limit);
    return decision.ok ? { ok: true, keyName: key.name } : this.limited(attempt.route, `API key ${JSON.stringify(key.name)}`, decision.limit, decision.retryAfterS);
  }

  private limited(route: string, who: string, limit: RateLimitSpec, retryAfterS: number): Verdict {
    this.options.onRateLimited?.(route);
    const wait = Math.round(retryAfterS * 1000) / 1000;
    const err = new SightlineError(429, 'rate_limited', `rate limit of ${limit.rps} requests/s (burst ${limit.burst}) exceeded for ${who}; retry in ${wait} s`, {
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
