/**
 * Values at the edges of what the rules allow: each must be refused with a 400 or stored so that
 * it reads back exactly (no normalisation, no rounding, no other day), on every database, and a
 * filter must match exactly what was stored (no case folding, accent folding or padding).
 */
import { detection } from './bodies.js';

export interface ReadBackCase {
  what: string;
  /** The posted body's JSON text (escapes kept as written). */
  body: string;
  /** What GET /v1/detections/{id} must hold, field by field. */
  stored: Record<string, unknown>;
  /** True where refusing the value (400) is as right as storing it exactly. */
  mayRefuse?: boolean;
}

export interface FilterCase {
  what: string;
  /** cameraIds stored, then the filter value that must match only `matches` of them. */
  stored: string[];
  filter: string;
  matches: string[];
}

/** A detection's JSON text with `fields` spliced in as literal JSON text. */
const withText = (cameraId: string, fields: Record<string, string>) => {
  const base = detection({ cameraId });
  for (const k of Object.keys(fields)) delete base[k];
  const inner = [
    ...Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`),
    ...Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${v}`),
  ];
  return `{${inner.join(',')}}`;
};

const nested = (depth: number) => '['.repeat(depth) + '"x"' + ']'.repeat(depth);

export function readBackCases(): ReadBackCase[] {
  const rb = (what: string, cameraId: string, fields: Record<string, string>, stored: Record<string, unknown>, mayRefuse = false): ReadBackCase => ({
    what,
    body: withText(cameraId, fields),
    stored: { cameraId, ...stored },
    mayRefuse,
  });
  return [
    rb('a surrogate pair in cameraId', 'cam-\u{1F600}', {}, {}),
    rb('255 CJK characters as cameraId', '模'.repeat(255), {}, {}),
    rb('255 astral characters as cameraId', '\u{1F600}'.repeat(255), {}, {}),
    rb('a combining accent kept apart from the precomposed one', 'rb-nfd', { label: '"e\\u0301"' }, { label: 'e\u0301' }),
    rb('a precomposed accent', 'rb-nfc', { label: '"\\u00e9"' }, { label: '\u00e9' }),
    rb('U+FFFF and U+10FFFF in label', 'rb-nonchar', { label: '"a\\uffffb\\udbff\\udfff"' }, { label: 'a\uffffb\u{10FFFF}' }),
    rb('a NUL in label', 'rb-nul', { label: '"a\\u0000b"' }, { label: 'a\u0000b' }, true),
    rb('trailing spaces in label', 'rb-spaces', { label: '"car   "' }, { label: 'car   ' }),
    rb('trackId 2^53 - 1 as a number', 'rb-track-max', { trackId: '9007199254740991' }, { trackId: '9007199254740991' }),
    rb('trackId 0 as a number', 'rb-track-zero', { trackId: '0' }, { trackId: '0' }),
    rb('trackId "007" kept as text', 'rb-track-text', { trackId: '"007"' }, { trackId: '007' }),
    rb('confidence 5e-324', 'rb-denormal', { confidence: '5e-324' }, { confidence: 5e-324 }, true),
    rb('confidence 0.1 + 0.2', 'rb-float', { confidence: '0.30000000000000004' }, { confidence: 0.30000000000000004 }),
    rb('box at ±1e308', 'rb-box', { box: '[-1e308,-1e-300,1e308,1e308]' }, { box: [-1e308, -1e-300, 1e308, 1e308] }),
    rb(
      'detectedAt 29 February 2024, last millisecond',
      'rb-leap',
      { detectedAt: '"2024-02-29T23:59:59.999Z"' },
      { detectedAt: Date.UTC(2024, 1, 29, 23, 59, 59, 999) },
    ),
    rb(
      'detectedAt with nanoseconds and +05:30',
      'rb-offset',
      { detectedAt: '"2026-01-01T00:00:00.123456789+05:30"' },
      { detectedAt: Date.UTC(2025, 11, 31, 18, 30, 0, 123) },
    ),
    rb('detectedAt with -12:00', 'rb-west', { detectedAt: '"2026-03-01T00:00:00-12:00"' }, { detectedAt: Date.UTC(2026, 2, 1, 12) }),
    rb('detectedAt at the epoch', 'rb-epoch', { detectedAt: '"1970-01-01T00:00:00Z"' }, { detectedAt: 0 }),
    rb('detectedAt of 2^53 - 1 ms', 'rb-far', { detectedAt: '9007199254740991' }, { detectedAt: 9007199254740991 }, true),
    rb(
      'meta with __proto__ and constructor keys',
      'rb-proto',
      { meta: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}' },
      { meta: JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}') },
    ),
    rb('meta 128 levels deep (the limit)', 'rb-deep', { meta: nested(128) }, { meta: JSON.parse(nested(128)) }),
    rb(
      'meta with unicode keys and a NUL',
      'rb-meta-keys',
      { meta: '{"模":"\\u0000","\\ud83d\\ude00":[1,2.5,-0,1e300]}' },
      { meta: JSON.parse('{"模":"\\u0000","\\ud83d\\ude00":[1,2.5,0,1e300]}') },
      true,
    ),
    rb('meta that is a bare string', 'rb-meta-string', { meta: '"just text"' }, { meta: 'just text' }),
  ];
}

export function filterCases(): FilterCase[] {
  return [
    { what: 'case is not folded', stored: ['Case-Cam', 'case-cam'], filter: 'case-cam', matches: ['case-cam'] },
    { what: 'accents are not folded', stored: ['cafe-cam', 'café-cam'], filter: 'cafe-cam', matches: ['cafe-cam'] },
    { what: 'trailing spaces are not padding', stored: ['pad-cam', 'pad-cam  '], filter: 'pad-cam', matches: ['pad-cam'] },
    { what: 'ß is not ss', stored: ['strasse-cam', 'straße-cam'], filter: 'strasse-cam', matches: ['strasse-cam'] },
    { what: 'LIKE wildcards are literal', stored: ['wild-cam-1', 'wild-cam-2'], filter: 'wild-cam-%', matches: [] },
    { what: 'an underscore is literal', stored: ['under-cam', 'under_cam'], filter: 'under_cam', matches: ['under_cam'] },
  ];
}
