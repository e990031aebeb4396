import type { ProfileRoute, ProfileRouteSchema } from './profile.js';

/** `METHOD /path`, the path relative to the profile's prefix: `GET /:image_id/status`. */
export type Endpoint = `${ProfileRoute['method']} /${string}`;

/** A route's handler, and its document entry past its operationId and summary. */
export interface RouteDetails extends Omit<ProfileRouteSchema, 'operationId' | 'summary'> {
  handler: ProfileRoute['handler'];
}

/** A route as a row of its profile's table, where the row's key is its operationId. */
export type RouteRow = Omit<ProfileRoute, 'schema'> & { schema: Omit<ProfileRouteSchema, 'operationId'> };

/** A profile's routes by operationId, in the order they are mounted and documented. */
export type RouteTable = Readonly<Record<string, RouteRow>>;

/**
 * One row, headed by where the route is, who may call it and what it does (the summary), so that
 * each profile's table reads as its list of endpoints; then its handler and the rest of its entry.
 */
export function route(endpoint: Endpoint, access: ProfileRoute['access'], summary: string, { handler, ...doc }: RouteDetails): RouteRow {
  const space = endpoint.indexOf(' ');
  return {
    method: endpoint.slice(0, space) as ProfileRoute['method'],
    path: endpoint.slice(space + 1),
    access,
    handler,
    schema: { summary, ...doc },
  };
}

/** The routes of a table, each documented under its key as operationId. */
export function routeTable(table: RouteTable): ProfileRoute[] {
  return Object.entries(table).map(([operationId, { schema, ...row }]) => ({ ...row, schema: { operationId, ...schema } }));
}
