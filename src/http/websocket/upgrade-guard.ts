import type { WebSocketBehavior } from 'uWebSockets.js';
import { copyRequest, parameterCount } from './copied-request.js';
import { acceptUpgrade, refuseUpgrade, sendUpgradeRefusal, upgradeRequestId } from './upgrade.js';
import type { Logger } from '../../logger.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from '../uws.js';
import type { Admission, Verdict } from '../auth/admission.js';
import { presentedKey } from '../auth/credentials.js';
import type { RouteAccessTable } from '../auth/route-scopes.js';

/**
 * The uWS app as WebSocket routes see it, with admission in front of every upgrade: each
 * `app.ws(pattern, behaviour)` gets the access of `GET pattern` from the scope table (a pattern
 * not listed stops the server) and a check that runs before the route's own upgrade handler.
 * Browsers cannot set headers on a WebSocket, so here a key may also come as `?key=`.
 * A verdict that comes later (from a shared rate-limit store) finishes the upgrade from a copy of
 * the request, corked, unless the client left meanwhile.
 */
export function guardUpgrades(app: TemplatedApp, options: { admission: Admission; table: RouteAccessTable; logger: Logger }): TemplatedApp {
  const { admission, table, logger } = options;
  const guarded = (pattern: string, behavior: WebSocketBehavior<unknown>): WebSocketBehavior<unknown> => {
    const access = table.require('GET', pattern);
    if (access === 'public') return behavior;
    const inner = behavior.upgrade;
    const parameters = parameterCount(pattern);
    type Context = Parameters<typeof acceptUpgrade>[2];
    const proceed = (res: HttpResponse, req: HttpRequest, context: Context, verdict: Verdict): void | Promise<void> => {
      if (!verdict.ok) {
        const reqId = upgradeRequestId(req);
        // The path only: uWS keeps the query (and any key in it) apart.
        logger.info({ reqId, path: req.getUrl(), status: verdict.reply.status }, 'WebSocket upgrade refused');
        return sendUpgradeRefusal(res, req, verdict.reply, reqId);
      }
      if (inner) return inner(res, req, context);
      acceptUpgrade(res, req, context, {});
    };
    return {
      ...behavior,
      upgrade: (res, req, context) => {
        const key = presentedKey((name) => req.getHeader(name)) ?? (req.getQuery('key') || undefined);
        const verdict = admission.check(access, {
          route: pattern,
          key,
          clientAddress: () => Buffer.from(res.getRemoteAddressAsText()).toString(),
          hint: () => ', or as ?key= in the URL',
        });
        if (!(verdict instanceof Promise)) return proceed(res, req, context, verdict);
        const copy = copyRequest(req, parameters);
        // uWS needs to hear of an abort before the callback returns; past one, `res` must not be touched.
        let aborted = false;
        res.onAborted(() => (aborted = true));
        verdict.then(
          (v) => {
            if (!aborted) res.cork(() => void proceed(res, copy, context, v));
          },
          (err: unknown) => {
            if (!aborted) refuseUpgrade(res, copy, err);
          },
        );
      },
    };
  };
  return new Proxy(app, {
    get(target, property, receiver: unknown): unknown {
      if (property === 'ws') {
        return (pattern: string, behavior: WebSocketBehavior<unknown>) => {
          target.ws(pattern, guarded(pattern, behavior));
          return receiver;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
