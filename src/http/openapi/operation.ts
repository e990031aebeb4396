import type { z } from 'zod';
import type { Route } from '../router.js';
import { errorBody } from '../schemas/error.js';
import { IMAGE_CONTENT_TYPES } from '../schemas/images.js';
import type { BodySchema, ResponseSchema, RouteSchema } from '../schemas/route-schema.js';
import type { JsonSchema, SchemaComponents } from './schema-components.js';
import { KEY_ERRORS, type RouteSecurity } from './security.js';

/** Marks operations of routes registered without a schema, so a test can insist there are none. */
export const UNDOCUMENTED = 'x-undocumented';

export const REQUEST_ID_HEADER = { $ref: '#/components/headers/RequestId' };
const BINARY: JsonSchema = { type: 'string', format: 'binary' };

/** Descriptions of the errors an operation can give because of what it reads. */
const IMPLIED_ERRORS: Readonly<Record<number, string>> = {
  400: 'bad input: a parameter or body field breaks its rule; `field` names it',
  413: 'the body, a file or the decoded image is over its limit (the connection is closed)',
  415: 'the body is not one of the accepted media types',
  500: 'a bug; nothing about the request',
};

/** Headers that come with an error status wherever it is answered. */
const ERROR_HEADERS: Readonly<Record<number, Record<string, unknown>>> = {
  429: { 'retry-after': { description: 'seconds to wait', schema: { type: 'integer' } } },
  503: { 'retry-after': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } },
};

/** `/v1/models/:name` → `/v1/models/{name}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(components: SchemaComponents, where: 'path' | 'query' | 'header', schema: z.ZodType | undefined): JsonSchema[] {
  if (schema === undefined) return [];
  const object = components.convert(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

function requestBody(components: SchemaComponents, body: BodySchema): JsonSchema {
  const content: Record<string, unknown> = {};
  if (body.image) {
    for (const type of [...IMAGE_CONTENT_TYPES, 'application/octet-stream']) content[type] = { schema: BINARY };
  }
  if (body.multipart) content['multipart/form-data'] = { schema: components.convert(body.multipart, 'input') };
  if (body.json) content['application/json'] = { schema: components.convert(body.json, 'input') };
  for (const type of body.binary ?? []) content[type] = { schema: BINARY };
  return { required: body.required ?? true, ...(body.description ? { description: body.description } : {}), content };
}

function response(components: SchemaComponents, answer: ResponseSchema): JsonSchema {
  const headers: Record<string, unknown> = { 'x-request-id': REQUEST_ID_HEADER };
  for (const [name, description] of Object.entries(answer.headers ?? {})) headers[name] = { description, schema: { type: 'string' } };
  const content: Record<string, unknown> = {};
  if (answer.json) content['application/json'] = { schema: components.convert(answer.json, 'output') };
  const types = answer.contentType === undefined ? [] : typeof answer.contentType === 'string' ? [answer.contentType] : answer.contentType;
  for (const type of types) content[type] = { schema: type.startsWith('text/') ? { type: 'string' } : BINARY };
  return { description: answer.description, headers, ...(Object.keys(content).length > 0 ? { content } : {}) };
}

/** An error answer: the shared error body (or the route's own), with the headers its status carries. */
export function errorResponse(components: SchemaComponents, description: string, status: number, body: z.ZodType = errorBody): JsonSchema {
  return {
    description,
    headers: { 'x-request-id': REQUEST_ID_HEADER, ...ERROR_HEADERS[status] },
    content: { 'application/json': { schema: components.convert(body, 'output') } },
  };
}

function errors(schema: RouteSchema, security: RouteSecurity | undefined): Map<number, string> {
  const out = new Map<number, string>();
  if (security !== undefined && security.access !== 'public')
    for (const [status, description] of Object.entries(KEY_ERRORS)) out.set(Number(status), description);
  // Query strings are strict and bodies always have rules; path and header rules are the route's to list.
  if (schema.query || schema.body) out.set(400, IMPLIED_ERRORS[400]);
  if (schema.body) {
    out.set(413, IMPLIED_ERRORS[413]);
    out.set(415, IMPLIED_ERRORS[415]);
  }
  for (const [status, description] of Object.entries(schema.errors ?? {})) out.set(Number(status), description);
  if (!out.has(500)) out.set(500, IMPLIED_ERRORS[500]);
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** The OpenAPI operation object of one route, with who may call it when that is known. */
export function operation(components: SchemaComponents, route: Route, security?: RouteSecurity): JsonSchema {
  const schema = route.schema;
  if (schema === undefined) {
    const names = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    return {
      summary: `${route.method} ${route.path}`,
      [UNDOCUMENTED]: true,
      ...(names.length > 0 ? { parameters: names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) } : {}),
      responses: { default: { description: 'not described' } },
    };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(schema.responses)) responses[status] = response(components, answer);
  for (const [status, description] of errors(schema, security)) responses[String(status)] = errorResponse(components, description, status, schema.errorBody);
  const params = [
    ...parameters(components, 'path', schema.params),
    ...parameters(components, 'query', schema.query),
    ...parameters(components, 'header', schema.headers),
  ];
  return {
    operationId: schema.operationId,
    summary: schema.summary,
    ...(schema.description ? { description: schema.description } : {}),
    tags: [...schema.tags],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(schema.body ? { requestBody: requestBody(components, schema.body) } : {}),
    responses,
    ...(security ? { security: security.requirements, 'x-scope': security.access } : {}),
    ...(schema.websocket
      ? {
          'x-websocket': {
            client: components.convert(schema.websocket.client, 'input'),
            server: components.convert(schema.websocket.server, 'output'),
            closeCodes: schema.websocket.closeCodes,
          },
        }
      : {}),
  };
}
