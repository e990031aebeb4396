import type { z } from 'zod';
import { type FieldProblem, invalidFields } from '../../errors.js';
import type { RequestContext } from '../request-context.js';
import { decodeComponent } from '../router.js';
import { queryParameters } from './field-types.js';
import { issueProblems, issuesError } from './issue-error.js';

/** Parses a value with a route's schema, answering 400 that names every field at fault. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw issuesError(result.error.issues, value);
  return result.data;
}

const NO_QUERY = queryParameters({});

/**
 * A query string as name → value, with what is wrong with it: a name or value that is not valid
 * percent-encoded UTF-8 (URLSearchParams would keep `%zz` as written and put U+FFFD for bad bytes),
 * and a parameter given more than once (every parameter takes one value; which one counts would
 * otherwise be a guess).
 */
export function decodeQuery(rawQuery: string): { values: Record<string, string>; problems: FieldProblem[] } {
  const values = Object.create(null) as Record<string, string>;
  const problems: FieldProblem[] = [];
  const repeated = new Set<string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = (eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' ');
    const name = decodeComponent(rawName);
    if ('problem' in name) {
      problems.push({ field: rawName, message: `parameter name ${name.problem}` });
      continue;
    }
    const value = decodeComponent(eq === -1 ? '' : pair.slice(eq + 1).replaceAll('+', ' '));
    if (Object.hasOwn(values, name.value) || repeated.has(name.value)) {
      if (!repeated.has(name.value)) problems.push({ field: name.value, message: 'given more than once' });
      repeated.add(name.value);
      delete values[name.value];
    } else if ('problem' in value) {
      problems.push({ field: name.value, message: value.problem });
      repeated.add(name.value);
    } else {
      values[name.value] = value.value;
    }
  }
  return { values: { ...values }, problems };
}

/** The query checked by `schema`: encoding and repeats first, then the schema, every problem in one answer. */
function parseQueryWith<S extends z.ZodType>(ctx: RequestContext, schema: S): z.output<S> {
  const { values, problems } = decodeQuery(ctx.rawQuery);
  const result = schema.safeParse(values);
  if (problems.length === 0) {
    if (!result.success) throw issuesError(result.error.issues, values);
    return result.data;
  }
  const named = new Set(problems.map((p) => p.field));
  const others = result.success ? [] : issueProblems(result.error.issues, values).filter((p) => !named.has(p.field));
  throw invalidFields([...problems, ...others]);
}

/** For routes that take no query parameters: any parameter is a 400, as on routes that take some. */
export function refuseQuery(ctx: RequestContext): void {
  parseQueryWith(ctx, NO_QUERY);
}

/** The path parameters, checked by the route's `params` schema. */
export function parseParams<S extends z.ZodType>(ctx: RequestContext, schema: S): z.output<S> {
  return parseWith(schema, ctx.params);
}

/**
 * The query string, checked by the route's `query` schema. Values are strings (schemas coerce
 * what they need); a parameter given twice, or not percent-encoded UTF-8, is a 400 naming it.
 */
export function parseQuery<S extends z.ZodType>(ctx: RequestContext, schema: S): z.output<S> {
  return parseQueryWith(ctx, schema);
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
