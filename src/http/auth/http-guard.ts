import type { RequestContext } from '../request-context.js';
import type { Reply } from '../reply.js';
import type { Route } from '../router.js';
import type { Admission, Verdict } from './admission.js';
import { presentedKey } from './credentials.js';
import type { Access } from './scopes.js';

/** A reply refuses, undefined lets through; a promise of either when the verdict comes from a shared store. */
export type HttpGuard = (ctx: RequestContext, route: Route) => Reply | undefined | Promise<Reply | undefined>;

/**
 * Admission for HTTP requests, run by the app before the route's handler: undefined lets the
 * request through, a reply refuses it. The caller's key name goes into the access log (the key
 * itself never does).
 */
export function httpGuard(admission: Admission, accessByRoute: ReadonlyMap<Route, Access>): HttpGuard {
  return (ctx, route) => {
    const access = accessByRoute.get(route);
    // Every registered route was resolved at start; anything else is a wiring bug, so refuse it.
    if (access === undefined) throw new Error(`route ${route.method} ${route.path} has no access resolved`);
    if (access === 'public') return undefined;
    const key = presentedKey((name) => ctx.headers[name]);
    const verdict = admission.check(access, {
      route: ctx.routeName,
      key,
      clientAddress: () => ctx.remoteAddress,
      hint: () => (ctx.query.has('key') ? ' (?key= is accepted on WebSocket upgrades only)' : ''),
    });
    return verdict instanceof Promise ? verdict.then((v) => admitted(ctx, v)) : admitted(ctx, verdict);
  };
}

function admitted(ctx: RequestContext, verdict: Verdict): Reply | undefined {
  if (!verdict.ok) return verdict.reply;
  if (verdict.keyName !== undefined) ctx.logFields.apiKey = verdict.keyName;
  return undefined;
}
