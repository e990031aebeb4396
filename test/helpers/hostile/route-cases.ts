/**
 * Cases generated from the OpenAPI document, so every route (and every route added later) is
 * attacked the same way: wrong methods, bad path parameters, unknown and bad query parameters,
 * wrong content types, empty and oversize bodies.
 */
import type { OpenApiDoc, Json } from '../openapi.js';
import { isArchiveType, oversizeArchive } from './archive-bodies.js';
import { multipart, multipartType, detection } from './bodies.js';
import { httpCase, namesField, type HostileCase, type HttpRequest } from './cases.js';
import type { Limits } from './limits.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export const UPGRADE_HEADERS = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };

export interface Operation {
  method: string;
  path: string;
  op: Json;
}

export function operations(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) out.push({ method: method.toUpperCase(), path, op: item[method] });
  }
  return out;
}

/**
 * A value for a path parameter that names something plausible: the suite's model (for load and
 * unload, the spare model, so the cases never take down the model the others use), the version
 * serving it (its first load, as nothing reloads it), an unknown id.
 */
export function samplePathValue(name: string, path = ''): string {
  if (name === 'name' || name === 'model') return /\/(load|unload)$/.test(path) ? 'spare' : 'cls';
  if (name === 'version' && path.startsWith('/v2/')) return '1';
  if (name === 'sha256') return 'a'.repeat(64);
  if (name === 'asset') return 'missing-asset.js';
  return '00000000-0000-4000-8000-000000000000';
}

export const fillPath = (path: string, values: Record<string, string> = {}) =>
  path.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? samplePathValue(name, path));

const isWebSocket = (o: Operation) => o.op['x-websocket'] !== undefined;
const params = (o: Operation, where: string): Json[] => ((o.op.parameters ?? []) as Json[]).filter((p) => p.in === where);
const bodyTypes = (o: Operation): string[] => Object.keys(o.op.requestBody?.content ?? {});

/** A valid body of the given content type for the operation, and the query it needs. */
function validBody(o: Operation, type: string, png: Buffer): { body: Buffer; query: string[] } {
  const jobs = o.path === '/v1/jobs';
  if (type === 'application/json') {
    if (o.path === '/v1/detections') return { body: Buffer.from(JSON.stringify(detection())), query: [] };
    return { body: Buffer.from(JSON.stringify(jobs ? { model: 'cls', image: png.toString('base64') } : { image: png.toString('base64') })), query: [] };
  }
  const body = type.startsWith('multipart/') ? multipart([{ name: 'file', filename: 'a.png', type: 'image/png', data: png }]) : png;
  return { body, query: jobs ? ['model=cls'] : [] };
}

const contentType = (type: string) => (type.startsWith('multipart/') ? multipartType() : type);
/**
 * The Open Inference Protocol reads its body whatever the Content-Type says (Triton does, and
 * tritonclient sends none): JSON, or a JSON header and binary data by Inference-Header-Content-Length.
 */
const readsAnyContentType = (o: Operation) => o.path.startsWith('/v2/');
const target = (path: string, query: string[]) => (query.length ? `${path}?${query.join('&')}` : path);

/** A pattern for date-times: its bad values are impossible dates, which match the pattern's shape. */
const isDatePattern = (pattern: string) => new RegExp(pattern, 'u').test('2026-01-01T00:00:00Z');
/** The candidates (percent-encoded) whose decoded value the pattern refuses. */
const failing = (pattern: string, candidates: string[]) => candidates.filter((v) => !new RegExp(pattern, 'u').test(decodeURIComponent(v)));

/** Query values that break a parameter's schema (each must be a 400). */
function badQueryValues(schema: Json): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const types = schema.anyOf ? (schema.anyOf as Json[]) : [schema];
  const integerLike = types.find((s) => s.type === 'integer');
  const stringLike = types.find((s) => s.type === 'string');
  if (schema.enum)
    out.push(['not in the enum', 'bogus'], ['enum value in upper case', encodeURIComponent(String(schema.enum[0]).toUpperCase())], ['empty', '']);
  else if (integerLike && !stringLike) {
    out.push(
      ['not a number', 'abc'],
      ['a fraction', '1.5'],
      ['exponent form', '1e3'],
      ['empty', ''],
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['hex', '0x10'],
    );
    if (integerLike.minimum !== undefined) out.push(['below the minimum', String(integerLike.minimum - 1)]);
    if (integerLike.maximum !== undefined) out.push(['above the maximum', String(integerLike.maximum + 1)], ['2^64', '18446744073709551616']);
  } else if (stringLike?.pattern && !isDatePattern(stringLike.pattern)) {
    out.push(
      ...failing(stringLike.pattern, ['', '!', '%20', 'a'.repeat(300), '%E6%A8%A1']).map(
        (v) => [`not matching ${stringLike.pattern}: ${JSON.stringify(v.slice(0, 12))}`, v] as [string, string],
      ),
    );
  } else if (stringLike?.pattern) {
    out.push(
      ['not a time', 'yesterday'],
      ['30 February', '2026-02-30T00:00:00Z'],
      ['31 April', '2026-04-31T00:00:00Z'],
      ['hour 24', '2026-01-01T24:00:00Z'],
      ['29 February of 2025', '2025-02-29T00:00:00Z'],
      ['month 13', '2026-13-01T00:00:00Z'],
      ['no zone', '2026-01-01T00:00:00'],
      ['negative', '-5'],
      ['empty', ''],
    );
  } else if (stringLike) {
    if (stringLike.minLength) out.push(['empty', '']);
    if (stringLike.maxLength) out.push([`${stringLike.maxLength + 1} characters`, 'a'.repeat(stringLike.maxLength + 1)]);
  }
  return out;
}

/** Whether a string schema (pattern, length bounds) refuses the decoded value. */
function refusedBySchema(schema: Json, value: string): boolean {
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) return true;
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return true;
  return typeof schema.minLength === 'number' && value.length < schema.minLength;
}

const onRoute = (route: string, c: HostileCase): HostileCase => ({ ...c, route });

export function routeCases(doc: OpenApiDoc, png: Buffer, limits: Limits): HostileCase[] {
  const cases: HostileCase[] = [];
  const ops = operations(doc);

  // Wrong method: every method a path does not document is 405, with Allow.
  for (const [path, item] of Object.entries(doc.paths)) {
    const present = METHODS.filter((m) => item[m]);
    for (const method of METHODS.filter((m) => !item[m])) {
      const req: HttpRequest = { method: method.toUpperCase(), target: fillPath(path) };
      cases.push({
        ...httpCase('method', `not documented (has ${present.join(', ').toUpperCase()})`, req, '405'),
        name: `${req.method} ${path} / method: not documented (has ${present.join(', ').toUpperCase()})`,
        route: path,
      });
    }
  }

  for (const o of ops) {
    const ws = isWebSocket(o);
    const extraHeaders = ws ? UPGRADE_HEADERS : {};
    const types = bodyTypes(o);
    const first = types[0];
    const base = first ? validBody(o, first, png) : { body: Buffer.alloc(0), query: [] as string[] };
    const baseHeaders = { ...extraHeaders, ...(first ? { 'content-type': contentType(first) } : {}) };
    /** A case of this operation: its request is the operation's method with the rest as given. */
    const opCase = (family: string, what: string, req: Omit<HttpRequest, 'method'>, expected: string): HostileCase =>
      onRoute(o.path, httpCase(family, what, { method: o.method, ...req }, expected));

    // Path parameters: overlong, NUL, dot segments, unicode, invalid escapes. A value the
    // documented schema refuses is a 400; one it allows names nothing, a 404.
    for (const p of params(o, 'path')) {
      const s = (p.schema ?? {}) as Json;
      const named = (value: string) => (refusedBySchema(s, decodeURIComponent(value)) ? '400' : '404');
      const values: Array<[string, string, string]> = [
        ['1000 characters', 'a'.repeat(1000), named('a'.repeat(1000))],
        ['%00', '%00', named('%00')],
        ['%2e%2e', '%2e%2e', named('%2e%2e')],
        ['%2e%2e%2f%2e%2e%2fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', named('%2e%2e%2f%2e%2e%2fpackage.json')],
        ['unicode', '%E6%A8%A1%E5%9E%8B', named('%E6%A8%A1%E5%9E%8B')],
        ['invalid escape %zz', '%zz', '400'],
        ['truncated escape %4', 'x%4', '400'],
        ['invalid UTF-8 %C3%28', '%C3%28', '400'],
      ];
      for (const [what, value, expected] of values) {
        const req = { target: target(fillPath(o.path, { [p.name]: value }), base.query), headers: baseHeaders, body: base.body };
        cases.push(opCase('path', `${p.name} ${what}`, req, expected));
      }
    }

    if (o.path.startsWith('/v1/') && !ws) {
      // Unknown query parameters are refused, so a misspelt one never silently does nothing.
      const path = fillPath(o.path);
      /** The operation's valid request with this query instead. */
      const withQuery = (query: string[]) => ({ target: target(path, query), headers: baseHeaders, body: base.body });
      cases.push(namesField(opCase('query', 'unknown parameter bogus=1', withQuery([...base.query, 'bogus=1']), '400'), 'bogus'));
      cases.push(opCase('query', 'empty parameter name', withQuery([...base.query, '=1']), '400'));
      // Bad values of each documented query parameter.
      for (const p of params(o, 'query')) {
        const valued = (value: string) => withQuery([...base.query.filter((q) => !q.startsWith(`${p.name}=`)), `${p.name}=${value}`]);
        for (const [what, value] of badQueryValues((p.schema ?? {}) as Json)) {
          cases.push(namesField(opCase('query', `${p.name} ${what}`, valued(value), '400'), p.name));
        }
        cases.push(opCase('query', `${p.name} invalid escape %zz`, valued('%zz'), '400'));
      }
    }

    // Header parameters with a pattern: values it refuses.
    for (const p of params(o, 'header').filter((h) => typeof h.schema?.pattern === 'string')) {
      for (const value of failing(p.schema.pattern, ['a b', 'k'.repeat(300), 'tab\there'])) {
        const req = { target: target(fillPath(o.path), base.query), headers: { ...baseHeaders, [p.name]: value }, body: base.body };
        cases.push(opCase('header', `${p.name} ${JSON.stringify(value.slice(0, 12))}${value.length > 12 ? '…' : ''}`, req, '400'));
      }
    }

    if (types.length > 0) {
      const path = fillPath(o.path);
      // Content types the operation does not take: 415, or where any type is read, 400 for a body
      // ('a=b', 'hello') that is not the JSON it is read as.
      const notTaken = readsAnyContentType(o) ? '400' : '415';
      for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'image/svg+xml', 'application/javascript']) {
        cases.push(
          opCase('content-type', `undocumented ${type}`, { target: target(path, base.query), headers: { 'content-type': type }, body: 'a=b' }, notTaken),
        );
      }
      cases.push(opCase('content-type', 'no content type', { target: target(path, base.query), body: 'hello' }, notTaken));
      // A body the document says may be left out: empty is the request without it.
      const emptyBody = o.op.requestBody?.required === false ? '200' : '400';
      for (const type of types) {
        const { query } = validBody(o, type, png);
        const headers = { 'content-type': contentType(type) };
        cases.push(opCase('empty-body', `empty ${type}`, { target: target(path, query), headers, body: '' }, emptyBody));
        // /v2 inference has one limit for its body, whatever its form (README, Open Inference Protocol: 413).
        const v2Infer = o.path.startsWith('/v2/') && o.path.endsWith('/infer');
        const oversize = v2Infer
          ? Buffer.concat([Buffer.from(type === 'application/json' ? '{"inputs":"' : ''), Buffer.alloc(limits.bodyBytes + 1024, 0x41)])
          : type === 'application/json'
            ? Buffer.from(`{"image":"${'A'.repeat(limits.jsonBytes + 1024)}"}`)
            : type.startsWith('multipart/')
              ? multipart([{ name: 'file', filename: 'big.png', type: 'image/png', data: Buffer.alloc(limits.fileBytes + 64 * 1024, 1) }])
              : isArchiveType(type)
                ? oversizeArchive(type, limits)
                : Buffer.concat([png.subarray(0, 8), Buffer.alloc(limits.fileBytes + 64 * 1024, 1)]);
        cases.push(opCase('oversize', `${type} over its limit (${oversize.length} bytes)`, { target: target(path, query), headers, body: oversize }, '413'));
      }
      // Over the hard body limit, and a declared length far past it with no body following.
      const firstType = { 'content-type': contentType(first) };
      const overLimit = Buffer.alloc(limits.bodyBytes + 1024, 0x41);
      cases.push(opCase('oversize', `${first} over the body limit`, { target: target(path, base.query), headers: firstType, body: overLimit }, '413'));
      const declared = { ...firstType, 'content-length': 100 * 1024 * 1024 };
      const unsent = { target: target(path, base.query), headers: declared, body: Buffer.alloc(1024, 0x41) };
      cases.push(opCase('oversize', 'Content-Length of 100 MiB, body not sent', unsent, '413+close'));
    }
  }
  return cases;
}
