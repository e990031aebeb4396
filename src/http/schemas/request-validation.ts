import type { z } from 'zod';
import type { RequestContext } from '../request-context.js';
import { queryParameters } from './field-types.js';
import { issuesError } from './issue-error.js';

/** Parses a value with a route's schema, answering 400 that names every field at fault. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw issuesError(result.error.issues, value);
  return result.data;
}

const NO_QUERY = queryParameters({});

/** For routes that take no query parameters: any parameter is a 400, as on routes that take some. */
export function refuseQuery(ctx: RequestContext): void {
  parseWith(NO_QUERY, Object.fromEntries(ctx.query));
}

/** The path parameters, checked by the route's `params` schema. */
export function parseParams<S extends z.ZodType>(ctx: RequestContext, schema: S): z.output<S> {
  return parseWith(schema, ctx.params);
}

/**
 * The query string, checked by the route's `query` schema. Values are strings (schemas coerce
 * what they need); a parameter given twice counts with its last value.
 */
export function parseQuery<S extends z.ZodType>(ctx: RequestContext, schema: S): z.output<S> {
  return parseWith(schema, Object.fromEntries(ctx.query));
}

/** The headers a schema names (spelled as documented, looked up case-insensitively); others are ignored. */
export function parseHeaders<S extends z.ZodObject>(ctx: RequestContext, schema: S): z.output<S> {
  const values: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = ctx.headers[name.toLowerCase()];
    if (value !== undefined) values[name] = value;
  }
  return parseWith(schema, values);
}
