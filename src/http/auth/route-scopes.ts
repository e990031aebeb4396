import type { Method, Route } from '../router.js';
import type { Access } from './scopes.js';

export interface ScopeEntry {
  method: Method;
  /** A route pattern as registered, or a prefix ending in `/*` that covers every pattern under it. */
  path: string;
  access: Access;
}

/**
 * What every route needs, in one place. WebSocket upgrades are GET requests and use the entry of
 * their path. A registered route missing here stops the server at start, so no route can be
 * added without deciding who may call it.
 *
 * - public: probes, the web console and the API description; they ignore any key sent.
 * - read: listings and lookups, and the event socket (it streams what the listings show).
 * - predict: anything that runs a model for the caller, synchronously or as a job.
 * - ingest: storing camera detections.
 * - admin: changing what is served (load, unload) and deleting stored records; `/metrics` when
 *   it is not public.
 */
export function routeScopes(options: { metricsPublic: boolean }): readonly ScopeEntry[] {
  return [
    { method: 'GET', path: '/health/live', access: 'public' },
    { method: 'GET', path: '/health/ready', access: 'public' },
    { method: 'GET', path: '/ping', access: 'public' },
    { method: 'GET', path: '/', access: 'public' },
    { method: 'GET', path: '/console', access: 'public' },
    { method: 'GET', path: '/ui/:asset', access: 'public' },
    { method: 'GET', path: '/openapi.json', access: 'public' },
    { method: 'GET', path: '/docs', access: 'public' },
    { method: 'GET', path: '/docs/*', access: 'public' },
    { method: 'GET', path: '/metrics', access: options.metricsPublic ? 'public' : 'admin' },

    { method: 'GET', path: '/v1/models', access: 'read' },
    { method: 'GET', path: '/v1/models/:name', access: 'read' },
    { method: 'POST', path: '/v1/models/:name/load', access: 'admin' },
    { method: 'POST', path: '/v1/models/:name/unload', access: 'admin' },
    { method: 'POST', path: '/v1/models/:name/predict', access: 'predict' },
    { method: 'POST', path: '/v1/models/:name/evaluate', access: 'predict' },

    { method: 'POST', path: '/v1/jobs', access: 'predict' },
    { method: 'GET', path: '/v1/jobs', access: 'read' },
    { method: 'GET', path: '/v1/jobs/:id', access: 'read' },
    { method: 'GET', path: '/v1/jobs/:id/result', access: 'read' },
    { method: 'DELETE', path: '/v1/jobs/:id', access: 'admin' },

    { method: 'POST', path: '/v1/detections', access: 'ingest' },
    { method: 'GET', path: '/v1/detections', access: 'read' },
    { method: 'GET', path: '/v1/detections/:id', access: 'read' },
    { method: 'DELETE', path: '/v1/detections/:id', access: 'admin' },
    { method: 'GET', path: '/v1/stats', access: 'read' },
    { method: 'POST', path: '/v1/images', access: 'ingest' },
    { method: 'GET', path: '/v1/images/:sha256', access: 'read' },

    { method: 'GET', path: '/v1/evaluations', access: 'read' },
    { method: 'GET', path: '/v1/evaluations/:id', access: 'read' },
    { method: 'DELETE', path: '/v1/evaluations/:id', access: 'admin' },
    { method: 'GET', path: '/v1/datasets', access: 'read' },
    { method: 'DELETE', path: '/v1/images/:sha256', access: 'admin' },

    { method: 'GET', path: '/v1/ws', access: 'read' },
    { method: 'GET', path: '/v1/ws/predict/:model', access: 'predict' },

    // The Open Inference Protocol: its probes are public as /health/* are (Kubernetes and KServe
    // probe them without keys); the rest as the /v1 routes that do the same.
    { method: 'GET', path: '/v2', access: 'public' },
    { method: 'GET', path: '/v2/health/live', access: 'public' },
    { method: 'GET', path: '/v2/health/ready', access: 'public' },
    { method: 'GET', path: '/v2/models/:name/ready', access: 'public' },
    { method: 'GET', path: '/v2/models/:name/versions/:version/ready', access: 'public' },
    { method: 'GET', path: '/v2/models/:name', access: 'read' },
    { method: 'GET', path: '/v2/models/:name/versions/:version', access: 'read' },
    { method: 'GET', path: '/v2/models/:name/config', access: 'read' },
    { method: 'GET', path: '/v2/models/:name/versions/:version/config', access: 'read' },
    { method: 'GET', path: '/v2/models/stats', access: 'read' },
    { method: 'GET', path: '/v2/models/:name/stats', access: 'read' },
    { method: 'GET', path: '/v2/models/:name/versions/:version/stats', access: 'read' },
    { method: 'POST', path: '/v2/models/:name/infer', access: 'predict' },
    { method: 'POST', path: '/v2/models/:name/versions/:version/infer', access: 'predict' },
    { method: 'POST', path: '/v2/repository/index', access: 'read' },
    { method: 'POST', path: '/v2/repository/models/:name/load', access: 'admin' },
    { method: 'POST', path: '/v2/repository/models/:name/unload', access: 'admin' },
  ];
}

/**
 * The table with entries of routes mounted besides the native ones (service profiles) added; an
 * added entry replaces a native one for the same method and path (a profile's GET /).
 */
export function withMountedScopes(native: readonly ScopeEntry[], mounted: readonly ScopeEntry[]): ScopeEntry[] {
  const taken = new Set(mounted.map((e) => `${e.method} ${e.path}`));
  return [...native.filter((e) => !taken.has(`${e.method} ${e.path}`)), ...mounted];
}

/** Looks up route patterns in a scope table. */
export class RouteAccessTable {
  private readonly exact = new Map<string, Access>();
  private readonly prefixes: Array<{ method: Method; prefix: string; access: Access }> = [];

  constructor(entries: readonly ScopeEntry[]) {
    for (const e of entries) {
      if (e.path.endsWith('/*')) {
        this.prefixes.push({ method: e.method, prefix: e.path.slice(0, -1), access: e.access });
      } else {
        const id = `${e.method} ${e.path}`;
        if (this.exact.has(id)) throw new Error(`route scope table: ${id} is listed twice`);
        this.exact.set(id, e.access);
      }
    }
  }

  /** The access a route pattern needs, or undefined when the table does not list it. */
  find(method: string, pattern: string): Access | undefined {
    const exact = this.exact.get(`${method} ${pattern}`);
    if (exact !== undefined) return exact;
    return this.prefixes.find((p) => p.method === method && pattern.startsWith(p.prefix))?.access;
  }

  /** Like find, but a pattern the table does not list is an error that stops the server. */
  require(method: string, pattern: string): Access {
    const access = this.find(method, pattern);
    if (access === undefined) {
      throw new Error(
        `route ${method} ${pattern} has no entry in the route scope table (src/http/auth/route-scopes.ts): ` +
          'every route must say whether it is public or which scope it needs',
      );
    }
    return access;
  }

  /** The access of each route, checked once at start so a request needs only a map lookup. */
  resolve(routes: readonly Route[]): Map<Route, Access> {
    return new Map(routes.map((r) => [r, this.require(r.method, r.path)]));
  }
}
