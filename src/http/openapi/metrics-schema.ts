import type { Route } from '../router.js';
import type { RouteSchema } from '../schemas/route-schema.js';

/**
 * The Prometheus endpoint's description. Its route is declared with the metrics instruments and
 * carries no schema of its own (there is nothing to validate), so it is attached here.
 */
export const METRICS_SCHEMA: RouteSchema = {
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  description:
    'HTTP, batching, inference, database commit and WebSocket instruments in the Prometheus text format. Public unless ' +
    '`SIGHTLINE_METRICS_PUBLIC=false`, which asks for a key with the `admin` scope.',
  tags: ['Metrics'],
  responses: { 200: { description: 'the current values', contentType: 'text/plain; version=0.0.4; charset=utf-8' } },
};

/** The route with a schema: its own, or the one above for the metrics route. */
export function withSchema(route: Route): Route {
  if (route.schema !== undefined) return route;
  if (route.method === 'GET' && route.path === '/metrics') return { ...route, schema: METRICS_SCHEMA };
  return route;
}
