/**
 * JSON bodies that break the rules: every field of the documented schemas with every wrong type,
 * impossible dates, huge numbers, lone surrogates, invalid UTF-8, deep nesting, prototype keys.
 * What is refused is a 400 naming the field; what is accepted must be storable exactly.
 */
import { resolvePointer, type Json, type OpenApiDoc } from '../openapi.js';
import { detection } from './bodies.js';
import { httpCase, namesField as naming, type HostileCase } from './cases.js';

const DETECTIONS = '/v1/detections';
const PREDICT = '/v1/models/cls/predict';
const JOBS = '/v1/jobs';
const JSON_TYPE = { 'content-type': 'application/json' };

/** Literal JSON text for a value; strings given as `raw(...)` pass through untouched. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);
const lit = (v: unknown): string => (v instanceof Raw ? v.text : JSON.stringify(v));
/** An object's JSON text with one field set to literal text (for values JSON.stringify cannot write). */
function objectText(base: Record<string, unknown>, field: string, value: unknown): string {
  const entries = Object.entries(base).filter(([k]) => k !== field);
  return `{${[...entries.map(([k, v]) => `${JSON.stringify(k)}:${lit(v)}`), `${JSON.stringify(field)}:${lit(value)}`].join(',')}}`;
}

const SAMPLES: Record<string, unknown> = { string: 'x', number: 1.5, integer: 7, boolean: true, null: null, object: { a: 1 }, array: [1] };

function allowedTypes(doc: Json, schema: Json): Set<string> | undefined {
  if (schema.$ref) return allowedTypes(doc, resolvePointer(doc, schema.$ref) as Json);
  if (schema.anyOf || schema.oneOf) {
    const all = new Set<string>();
    for (const s of (schema.anyOf ?? schema.oneOf) as Json[]) {
      const t = allowedTypes(doc, s);
      if (t === undefined) return undefined;
      t.forEach((x) => all.add(x));
    }
    return all;
  }
  if (schema.type === undefined) return schema.not ? new Set() : undefined;
  const types = new Set<string>(Array.isArray(schema.type) ? schema.type : [schema.type]);
  if (types.has('number')) types.add('integer');
  return types;
}

/** For each property of an object schema, one case per JSON type it does not allow. */
function wrongTypeCases(
  doc: OpenApiDoc,
  schemaName: string,
  target: string,
  base: Record<string, unknown>,
  wrap: (body: string) => string = (b) => b,
  prefix = '',
): HostileCase[] {
  const schema = doc.components.schemas[schemaName] as Json;
  const cases: HostileCase[] = [];
  for (const [field, propSchema] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    const allowed = allowedTypes(doc, propSchema);
    if (allowed === undefined) continue; // any JSON
    for (const [type, sample] of Object.entries(SAMPLES)) {
      if (allowed.has(type)) continue;
      cases.push(
        naming(
          httpCase(
            'json',
            `${schemaName}.${field} as ${type}`,
            { method: 'POST', target, headers: JSON_TYPE, body: wrap(objectText(base, field, sample)) },
            '400',
          ),
          `${prefix}${field}`,
        ),
      );
    }
  }
  for (const field of (schema.required ?? []) as string[]) {
    const rest = Object.fromEntries(Object.entries(base).filter(([k]) => k !== field));
    cases.push(
      naming(
        httpCase('json', `${schemaName}.${field} missing`, { method: 'POST', target, headers: JSON_TYPE, body: wrap(JSON.stringify(rest)) }, '400'),
        `${prefix}${field}`,
      ),
    );
  }
  return cases;
}

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

export function jsonCases(doc: OpenApiDoc, png: Buffer): HostileCase[] {
  const b64 = png.toString('base64');
  const det = detection();
  const post = (target: string, what: string, body: string | Buffer, expected: string) =>
    httpCase('json', what, { method: 'POST', target, headers: JSON_TYPE, body }, expected);
  const detField = (what: string, field: string, value: unknown, expected = '400') =>
    naming(post(DETECTIONS, `${field} ${what}`, objectText(det, field, value), expected), field);
  const utf8Bad = (what: string, bytes: number[]) =>
    post(
      DETECTIONS,
      `invalid UTF-8 in label: ${what}`,
      Buffer.concat([Buffer.from(objectText(det, 'label', raw('"car')).slice(0, -1)), Buffer.from(bytes), Buffer.from('"}')]),
      '400',
    );
  const maxBatch = ((doc.components.schemas.DetectionBatch as Json).properties.detections.maxItems as number) ?? 500;
  const maxImages = ((doc.components.schemas.PredictJsonBody as Json).properties.images.maxItems as number) ?? 16;

  return [
    ...wrongTypeCases(doc, 'DetectionInput', DETECTIONS, det),
    ...wrongTypeCases(doc, 'DetectionInput', DETECTIONS, det, (one) => `{"detections":[${JSON.stringify(det)},${one}]}`, 'detections[1].').map((c) => ({
      ...c,
      name: c.name.replace('json: ', 'json: in a batch, '),
    })),
    ...wrongTypeCases(doc, 'PredictJsonBody', PREDICT, { image: b64 }),
    ...wrongTypeCases(doc, 'JobSubmission', JOBS, { model: 'cls', image: b64 }),
    // Dates that do not exist are refused, not moved to another day.
    detField('30 February', 'detectedAt', '2026-02-30T00:00:00Z'),
    detField('31 April', 'detectedAt', '2026-04-31T00:00:00Z'),
    detField('hour 24', 'detectedAt', '2026-01-01T24:00:00Z'),
    detField('29 February of a non-leap year', 'detectedAt', '2025-02-29T00:00:00Z'),
    detField('month 13', 'detectedAt', '2026-13-01T00:00:00Z'),
    detField('day 0', 'detectedAt', '2026-01-00T00:00:00Z'),
    detField('minute 60', 'detectedAt', '2026-01-01T00:60:00Z'),
    detField('zone +25:00', 'detectedAt', '2026-01-01T00:00:00+25:00'),
    detField('without a zone', 'detectedAt', '2026-01-01T00:00:00'),
    detField('date only', 'detectedAt', '2026-01-01'),
    detField('NaN string', 'detectedAt', 'NaN'),
    detField('Infinity string', 'detectedAt', 'Infinity'),
    detField('negative', 'detectedAt', -1),
    detField('1e300', 'detectedAt', raw('1e300')),
    detField('past 2^53', 'detectedAt', raw('9007199254740993')),
    detField('29 February of a leap year (valid)', 'detectedAt', '2024-02-29T00:00:00Z', '201'),
    detField('nanoseconds and an offset (valid)', 'detectedAt', '2026-01-01T00:00:00.123456789+05:30', '201'),
    // Numbers.
    detField('above 1', 'confidence', 1.5),
    detField('below 0', 'confidence', -0.1),
    detField('1e400 (Infinity)', 'confidence', raw('1e400')),
    detField('as a numeric string', 'confidence', '0.5'),
    detField('NaN string', 'confidence', 'NaN'),
    detField('-0 (valid)', 'confidence', raw('-0'), '201'),
    detField('5e-324 (valid)', 'confidence', raw('5e-324'), '201'),
    detField('negative integer', 'trackId', -1),
    detField('fraction', 'trackId', 1.5),
    detField('2^64', 'trackId', raw('18446744073709551616')),
    detField('empty', 'trackId', ''),
    detField('256 characters', 'trackId', 'a'.repeat(256)),
    detField('1e400 coordinate', 'box', raw('[1e400,0,2,2]')),
    detField('three numbers', 'box', [1, 2, 3]),
    detField('five numbers', 'box', [0, 0, 1, 1, 1]),
    detField('x1 > x2', 'box', [5, 0, 1, 5]),
    detField('y1 > y2', 'box', [0, 5, 5, 1]),
    detField('a string coordinate', 'box', [0, 0, 1, '1']),
    // Strings.
    detField('empty', 'cameraId', ''),
    detField('256 characters', 'cameraId', 'c'.repeat(256)),
    detField('255 CJK characters (valid)', 'cameraId', '模'.repeat(255), '201'),
    detField('a surrogate pair (valid)', 'cameraId', raw('"cam-\\ud83d\\ude00"'), '201'),
    detField('a lone high surrogate', 'cameraId', raw('"cam-\\ud800"')),
    detField('a lone low surrogate', 'label', raw('"car\\udc00"')),
    detField('a reversed surrogate pair', 'label', raw('"\\ude00\\ud83d"')),
    detField('a lone surrogate in meta', 'meta', raw('{"note":"\\ud800"}')),
    detField('a lone surrogate as a meta key', 'meta', raw('{"\\udbff":1}')),
    utf8Bad('0xFF', [0xff]),
    utf8Bad('overlong "/" (C0 AF)', [0xc0, 0xaf]),
    utf8Bad('UTF-8-encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80]),
    utf8Bad('truncated sequence (E6 A8)', [0xe6, 0xa8]),
    utf8Bad('code point past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]),
    // meta: any JSON up to 64 KiB.
    detField('over 64 KiB', 'meta', { blob: 'm'.repeat(70 * 1024) }),
    // README: a JSON body nests at most 128 levels below its top level, so meta itself may nest 128.
    detField('128 levels deep (valid, the limit)', 'meta', raw(nested(128)), '201'),
    detField('129 levels deep (one past the limit)', 'meta', raw(nested(129)), '400'),
    detField('5000 levels deep', 'meta', raw(nested(5000)), '400'),
    detField('100000 levels deep', 'meta', raw(nested(100_000))),
    detField('with a __proto__ key (valid, stored as data)', 'meta', raw('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'), '201'),
    // Prototype keys at the top level are unknown fields.
    post(DETECTIONS, '__proto__ field', `{"__proto__":{"admin":true},${JSON.stringify(det).slice(1)}`, '400'),
    post(DETECTIONS, 'constructor field', `{"constructor":{"prototype":{"admin":true}},${JSON.stringify(det).slice(1)}`, '400'),
    naming(post(DETECTIONS, 'unknown field', JSON.stringify({ ...det, colour: 'red' }), '400'), 'colour'),
    // Every bad field is named in one answer, not one per round trip.
    ...['cameraId', 'confidence', 'detectedAt'].map((field) =>
      naming(
        post(
          DETECTIONS,
          `three bad fields at once, naming ${field}`,
          JSON.stringify({ ...det, cameraId: '', confidence: 2, detectedAt: '2026-02-30T00:00:00Z' }),
          '400',
        ),
        field,
      ),
    ),
    naming(
      post(DETECTIONS, 'batch with one bad item, naming its index', JSON.stringify({ detections: [det, det, det, { ...det, confidence: 7 }] }), '400'),
      'detections[3].confidence',
    ),
    // Not JSON, or not an object.
    ...[
      ['an array', '[]'],
      ['a string', '"detection"'],
      ['a number', '42'],
      ['null', 'null'],
      ['true', 'true'],
      ['truncated', JSON.stringify(det).slice(0, 30)],
      ['a trailing comma', `${JSON.stringify(det).slice(0, -1)},}`],
      ['single quotes', "{'cameraId':'a'}"],
      ['a comment', `/* c */${JSON.stringify(det)}`],
      ['a NaN literal', objectText(det, 'confidence', raw('NaN'))],
      ['two documents', `${JSON.stringify(det)}${JSON.stringify(det)}`],
      ['100000 levels of arrays', nested(100_000)],
      ['100000 levels of objects', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)],
    ].flatMap(([what, body]) => [
      post(DETECTIONS, `body is ${what}`, body, '400'),
      post(PREDICT, `body is ${what}`, body, '400'),
      post(JOBS, `body is ${what}`, body, '400'),
    ]),
    post(DETECTIONS, 'detections 5000 levels deep', `{"detections":${nested(5000, '{}')}}`, '400'),
    // Batches.
    post(DETECTIONS, 'empty batch', '{"detections":[]}', '400'),
    post(DETECTIONS, `batch of ${maxBatch + 1}`, JSON.stringify({ detections: Array.from({ length: maxBatch + 1 }, () => det) }), '400'),
    post(DETECTIONS, 'batch plus a single detection', JSON.stringify({ ...det, detections: [det] }), '400'),
    post(DETECTIONS, 'image and imageSha256', JSON.stringify({ ...det, image: b64, imageSha256: 'a'.repeat(64) }), '400'),
    post(DETECTIONS, 'imageSha256 of no stored image', JSON.stringify({ ...det, imageSha256: 'b'.repeat(64) }), '404 | 400'),
    // Predict and jobs bodies.
    post(PREDICT, 'image and images', JSON.stringify({ image: b64, images: [b64] }), '400'),
    post(PREDICT, 'neither image nor images', '{}', '400'),
    post(PREDICT, 'images empty', '{"images":[]}', '400'),
    post(PREDICT, `images of ${maxImages + 1}`, JSON.stringify({ images: Array.from({ length: maxImages + 1 }, () => b64) }), '400 | 413'),
    post(PREDICT, 'image with a lone surrogate', '{"image":"\\ud800"}', '400'),
    post(JOBS, 'no model anywhere', JSON.stringify({ image: b64 }), '400'),
    post(JOBS, 'unknown model', JSON.stringify({ model: 'no-such-model', image: b64 }), '404'),
    post(JOBS, 'empty model', JSON.stringify({ model: '', image: b64 }), '400'),
    post(JOBS, 'model of 256 characters', JSON.stringify({ model: 'm'.repeat(256), image: b64 }), '400'),
    post(JOBS, 'imageSha256 not hex', JSON.stringify({ model: 'cls', imageSha256: 'z'.repeat(64) }), '400'),
    post(JOBS, 'imageSha256 of no stored image', JSON.stringify({ model: 'cls', imageSha256: 'c'.repeat(64) }), '404'),
    post(JOBS, 'image and imageSha256', JSON.stringify({ model: 'cls', image: b64, imageSha256: 'a'.repeat(64) }), '400'),
    post(JOBS, 'images (a job takes one)', JSON.stringify({ model: 'cls', images: [b64] }), '400'),
    post(JOBS, 'unknown field', JSON.stringify({ model: 'cls', image: b64, priority: 'high' }), '400'),
    httpCase(
      'json',
      'Idempotency-Key with a space',
      { method: 'POST', target: JOBS, headers: { ...JSON_TYPE, 'idempotency-key': 'a b' }, body: JSON.stringify({ model: 'cls', image: b64 }) },
      '400',
    ),
    httpCase(
      'json',
      'Idempotency-Key of 256 characters',
      { method: 'POST', target: JOBS, headers: { ...JSON_TYPE, 'idempotency-key': 'k'.repeat(256) }, body: JSON.stringify({ model: 'cls', image: b64 }) },
      '400',
    ),
    // uWebSockets.js strips bytes of 0x80 and above at either end of a header value (README), so a
    // Latin-1 byte can only be seen, and refused, inside the value.
    httpCase(
      'json',
      'Idempotency-Key with a Latin-1 byte inside',
      { method: 'POST', target: JOBS, headers: { ...JSON_TYPE, 'idempotency-key': 'c\u00e9l' }, body: JSON.stringify({ model: 'cls', image: b64 }) },
      '400',
    ),
    httpCase(
      'json',
      'charset=utf-16',
      {
        method: 'POST',
        target: DETECTIONS,
        headers: { 'content-type': 'application/json; charset=utf-16' },
        body: Buffer.from(JSON.stringify(det), 'utf16le'),
      },
      '400 | 415',
    ),
  ];
}
