import type { z } from 'zod';
import type { Reply } from './reply.js';
import type { RequestContext } from './request-context.js';
import type { Route } from './router.js';
import type { RouteSchema } from './schemas/route-schema.js';
import { parseHeaders, parseParams, parseQuery, refuseQuery } from './schemas/request-validation.js';

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The parts of a request its route's schema declares, as that schema parsed them. */
export interface ValidatedRequest<P, H, Q> {
  params: Parsed<P>;
  headers: Parsed<H>;
  query: Parsed<Q>;
}

export interface ValidatedRouteSpec<P extends z.ZodType | undefined, H extends z.ZodObject | undefined, Q extends z.ZodType | undefined> extends Omit<
  Route,
  'handler' | 'schema'
> {
  schema: RouteSchema & { params?: P; headers?: H; query?: Q };
  handler: (ctx: RequestContext, request: ValidatedRequest<P, H, Q>) => Reply | Promise<Reply>;
}

/**
 * A route whose handler runs once the request has passed the schema that documents it: path
 * parameters, then headers, then the query, each a 400 naming its fields. A route that declares no
 * query takes none, so a misspelt parameter is refused rather than ignored.
 */
export function validatedRoute<
  P extends z.ZodType | undefined = undefined,
  H extends z.ZodObject | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: ValidatedRouteSpec<P, H, Q>): Route {
  const { schema, handler } = spec;
  return {
    ...spec,
    handler: (ctx) => {
      const params = (schema.params === undefined ? undefined : parseParams(ctx, schema.params)) as Parsed<P>;
      const headers = (schema.headers === undefined ? undefined : parseHeaders(ctx, schema.headers)) as Parsed<H>;
      const query = (schema.query === undefined ? refuseQuery(ctx) : parseQuery(ctx, schema.query)) as Parsed<Q>;
      return handler(ctx, { params, headers, query });
    },
  };
}
