import { RouteAccessTable, routeScopes, withMountedScopes, type ScopeEntry } from '../auth/route-scopes.js';
import type { Route } from '../router.js';
import type { JsonSchema } from './schema-components.js';

/** How a client presents an API key; WebSocket upgrades may also carry it as `?key=`. */
export const SECURITY_SCHEMES: Readonly<Record<string, JsonSchema>> = {
  ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key (needed once keys are configured)' },
  Bearer: { type: 'http', scheme: 'bearer', description: 'the same API key as `Authorization: Bearer <key>`' },
  ApiKeyQuery: { type: 'apiKey', in: 'query', name: 'key', description: 'the API key as `?key=`, on WebSocket upgrades only' },
};

/** The errors a route that needs a key can give, besides its own. */
export const KEY_ERRORS: Readonly<Record<number, string>> = {
  401: '`unauthorized`: no API key, or one that is not configured (with `WWW-Authenticate`)',
  403: '`forbidden`: the key lacks the scope this route needs',
  429: '`rate_limited`: the key (or, without keys, the client address) is over its rate',
};

export interface RouteSecurity {
  /** `public`, or the scope a key needs. */
  access: string;
  /** OpenAPI security requirements: none for public routes, a key otherwise. */
  requirements: JsonSchema[];
}

/**
 * Who may call each route, from the one scope table the server enforces. Documented as the server
 * runs with API keys configured; `/metrics` is shown public, as it is unless configured otherwise.
 */
export function routeSecurity(extra: readonly ScopeEntry[] = []): (route: Route) => RouteSecurity | undefined {
  const table = new RouteAccessTable(withMountedScopes(routeScopes({ metricsPublic: true }), extra));
  return (route) => {
    const access = table.find(route.method, route.path);
    if (access === undefined) return undefined;
    if (access === 'public') return { access, requirements: [] };
    const upgrade = route.schema?.websocket !== undefined;
    return { access, requirements: [{ ApiKey: [] }, { Bearer: [] }, ...(upgrade ? [{ ApiKeyQuery: [] }] : [])] };
  };
}
