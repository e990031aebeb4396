import type { WebSocketBehavior } from 'uWebSockets.js';
import { acceptUpgrade, sendUpgradeRefusal, upgradeRequestId } from './upgrade.js';
import type { Logger } from '../../logger.js';
import type { TemplatedApp } from '../uws.js';
import type { Admission } from '../auth/admission.js';
import { presentedKey } from '../auth/credentials.js';
import type { RouteAccessTable } from '../auth/route-scopes.js';

/**
 * The uWS app as WebSocket routes see it, with admission in front of every upgrade: each
 * `app.ws(pattern, behaviour)` gets the access of `GET pattern` from the scope table (a pattern
 * not listed stops the server) and a check that runs before the route's own upgrade handler.
 * Browsers cannot set headers on a WebSocket, so here a key may also come as `?key=`.
 */
export function guardUpgrades(app: TemplatedApp, options: { admission: Admission; table: RouteAccessTable; logger: Logger }): TemplatedApp {
  const { admission, table, logger } = options;
  const guarded = (pattern: string, behavior: WebSocketBehavior<unknown>): WebSocketBehavior<unknown> => {
    const access = table.require('GET', pattern);
    if (access === 'public') return behavior;
    const inner = behavior.upgrade;
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
        if (!verdict.ok) {
          const reqId = upgradeRequestId(req);
          // The path only: uWS keeps the query (and any key in it) apart.
          logger.info({ reqId, path: req.getUrl(), status: verdict.reply.status }, 'WebSocket upgrade refused');
          return sendUpgradeRefusal(res, req, verdict.reply, reqId);
        }
        if (inner) return inner(res, req, context);
        acceptUpgrade(res, req, context, {});
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
