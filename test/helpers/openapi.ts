import { expect } from 'vitest';

/** The parts of an OpenAPI document the tests read. */
export type Json = Record<string, any>;
export interface OpenApiDoc extends Json {
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components: Json;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `/v1/models/:name` → `/v1/models/{name}`; OpenAPI patterns pass through. */
export const openApiPath = (pattern: string) => pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Resolves a local `$ref` (`#/components/schemas/Job`) in the document. */
export function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

/** Every `$ref` string in a tree, with where it sits. */
export function collectRefs(node: unknown, at = '#', out: Array<{ at: string; ref: string }> = []): Array<{ at: string; ref: string }> {
  if (Array.isArray(node)) node.forEach((item, i) => collectRefs(item, `${at}/${i}`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push({ at, ref: value });
      else collectRefs(value, `${at}/${key}`, out);
    }
  }
  return out;
}

/** Keywords that only annotate: they never make a value invalid. */
const ANNOTATIONS = new Set([
  'description',
  'default',
  'title',
  'examples',
  'format',
  'contentEncoding',
  'contentMediaType',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Validates a value against a JSON Schema (draft 2020-12) of the subset the document uses, and
 * returns the problems found ("" for none). A keyword outside that subset fails loudly, so a schema
 * is never half checked.
 */
export function schemaErrors(doc: Json, schema: unknown, value: unknown, at = '$'): string[] {
  if (schema === true || (schema !== null && typeof schema === 'object' && Object.keys(schema).length === 0)) return [];
  if (schema === false) return [`${at}: no value is allowed here`];
  const s = schema as Json;
  const errors: string[] = [];
  const sub = (child: unknown, v: unknown, where: string) => errors.push(...schemaErrors(doc, child, v, where));
  for (const [keyword, arg] of Object.entries(s)) {
    switch (keyword) {
      case '$ref': {
        const target = resolvePointer(doc, arg);
        if (target === undefined) errors.push(`${at}: unresolved $ref ${arg}`);
        else sub(target, value, at);
        break;
      }
      case 'type': {
        const actual = typeOf(value);
        const allowed = (Array.isArray(arg) ? arg : [arg]) as string[];
        if (!allowed.includes(actual) && !(actual === 'integer' && allowed.includes('number')))
          errors.push(`${at}: expected ${allowed.join(' or ')}, got ${actual}`);
        break;
      }
      case 'const':
        if (!sameJson(arg, value)) errors.push(`${at}: expected ${JSON.stringify(arg)}`);
        break;
      case 'enum':
        if (!(arg as unknown[]).some((e) => sameJson(e, value))) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(arg)}`);
        break;
      case 'anyOf':
        if (!(arg as unknown[]).some((option) => schemaErrors(doc, option, value, at).length === 0)) {
          errors.push(`${at}: matches none of anyOf (${(arg as unknown[]).map((o) => schemaErrors(doc, o, value, at)[0]).join(' | ')})`);
        }
        break;
      case 'oneOf': {
        const matches = (arg as unknown[]).filter((option) => schemaErrors(doc, option, value, at).length === 0).length;
        if (matches !== 1) errors.push(`${at}: matches ${matches} of oneOf, not exactly one`);
        break;
      }
      case 'allOf':
        for (const option of arg as unknown[]) sub(option, value, at);
        break;
      case 'not':
        if (schemaErrors(doc, arg, value, at).length === 0) errors.push(`${at}: must not match ${JSON.stringify(arg)}`);
        break;
      case 'properties':
        if (typeOf(value) === 'object') {
          for (const [name, child] of Object.entries(arg as Json)) if (Object.hasOwn(value as Json, name)) sub(child, (value as Json)[name], `${at}.${name}`);
        }
        break;
      case 'required':
        if (typeOf(value) === 'object') for (const name of arg as string[]) if (!Object.hasOwn(value as Json, name)) errors.push(`${at}: missing ${name}`);
        break;
      case 'additionalProperties':
        if (typeOf(value) === 'object') {
          const known = new Set(Object.keys((s.properties ?? {}) as Json));
          for (const [name, v] of Object.entries(value as Json)) if (!known.has(name)) sub(arg, v, `${at}.${name}`);
        }
        break;
      case 'propertyNames':
        if (typeOf(value) === 'object') for (const name of Object.keys(value as Json)) sub(arg, name, `${at}[${JSON.stringify(name)}] (name)`);
        break;
      case 'prefixItems':
        if (Array.isArray(value)) (arg as unknown[]).forEach((child, i) => i < value.length && sub(child, value[i], `${at}[${i}]`));
        break;
      case 'items':
        if (Array.isArray(value)) {
          const from = Array.isArray(s.prefixItems) ? s.prefixItems.length : 0;
          for (let i = from; i < value.length; i++) sub(arg, value[i], `${at}[${i}]`);
        }
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < arg) errors.push(`${at}: fewer than ${arg} items`);
        break;
      case 'maxItems':
        if (Array.isArray(value) && value.length > arg) errors.push(`${at}: more than ${arg} items`);
        break;
      case 'minLength':
        if (typeof value === 'string' && [...value].length < arg) errors.push(`${at}: shorter than ${arg}`);
        break;
      case 'maxLength':
        if (typeof value === 'string' && [...value].length > arg) errors.push(`${at}: longer than ${arg}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(arg, 'u').test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${arg}`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < arg) errors.push(`${at}: below ${arg}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > arg) errors.push(`${at}: above ${arg}`);
        break;
      case 'exclusiveMinimum':
        if (typeof value === 'number' && value <= arg) errors.push(`${at}: not above ${arg}`);
        break;
      case 'exclusiveMaximum':
        if (typeof value === 'number' && value >= arg) errors.push(`${at}: not below ${arg}`);
        break;
      default:
        if (!ANNOTATIONS.has(keyword)) throw new Error(`${at}: the test validator does not know the keyword ${JSON.stringify(keyword)}`);
    }
  }
  return errors;
}

/** The media type of a Content-Type header, without parameters. */
const mediaType = (header: string | null) => (header ?? '').split(';')[0].trim().toLowerCase();

/**
 * Checks responses against the document: `expectDocumented(res, body, method, pattern)` fails unless
 * the operation documents the status, the content type, the headers it marks required, and a
 * schema the body satisfies. A path the document lacks is checked against `NoRoute`; a method it
 * lacks on a known path against `MethodNotAllowed`. Every (method, pattern) checked is recorded.
 */
export function documentedResponses(doc: OpenApiDoc) {
  const seen = new Set<string>();
  const responseFor = (method: string, pattern: string, status: number): Json => {
    const item = doc.paths[openApiPath(pattern)];
    if (item === undefined) return doc.components.responses.NoRoute;
    const op = item[method.toLowerCase()];
    if (op === undefined) return doc.components.responses.MethodNotAllowed;
    seen.add(`${method.toUpperCase()} ${openApiPath(pattern)}`);
    const found = op.responses[String(status)] ?? op.responses.default;
    expect(found, `${method} ${pattern} documents no ${status} response (documented: ${Object.keys(op.responses).join(', ')})`).toBeDefined();
    return found.$ref ? (resolvePointer(doc, found.$ref) as Json) : found;
  };

  function expectDocumented(res: Response, body: unknown, method: string, pattern: string): void {
    const what = `${method} ${pattern} → ${res.status}`;
    const response = responseFor(method, pattern, res.status);
    const content = response.content as Record<string, Json> | undefined;
    const type = mediaType(res.headers.get('content-type'));
    if (content === undefined) {
      expect(type, `${what}: documented without a body`).toBe('');
      return;
    }
    const entry = Object.entries(content).find(([documented]) => mediaType(documented) === type);
    expect(entry, `${what}: content type ${type} is not documented (${Object.keys(content).join(', ')})`).toBeDefined();
    const schema = entry![1].schema;
    if (type === 'application/json') expect(schemaErrors(doc, schema, body), what).toEqual([]);
    else if (schema?.format === 'binary') expect(body, `${what}: a binary body`).toBeInstanceOf(Uint8Array);
    else expect(schemaErrors(doc, schema, body), what).toEqual([]);
  }

  return { expectDocumented, seen };
}
