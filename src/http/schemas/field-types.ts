import { z } from 'zod';
import { type SightlineError, unsupportedMediaType } from '../../errors.js';
import { SHA256_ANY_CASE, SHA256_HEX, SHA256_RULE } from '../../store/index.js';

/** Building blocks shared by request schemas; each carries the wording its errors use. */

export const MAX_TEXT = 255;
const TEXT_RULE = `must be a non-empty string of at most ${MAX_TEXT} characters`;

/** At most `max` code points: an emoji is one character, as JSON Schema's `maxLength` counts, not two UTF-16 units. */
function withinCodePoints(value: string, max: number): boolean {
  if (value.length <= max) return true;
  if (value.length > 2 * max) return false;
  let count = 0;
  for (const _ of value) if (++count > max) return false;
  return true;
}

/** A string of 1 to `max` characters (code points), documented with that `maxLength`. */
export const boundedString = (max: number, rule: string) =>
  z
    .string({ error: rule })
    .min(1, { error: rule })
    .refine((s) => withinCodePoints(s, max), { error: rule })
    .meta({ maxLength: max });

/** A required label-like string: 1 to 255 characters. */
export const text = (description?: string) => {
  const schema = boundedString(MAX_TEXT, TEXT_RULE);
  return description === undefined ? schema : schema.describe(description);
};

/** A content hash as clients may write it (either case), lower-cased. */
export const sha256 = (description: string) =>
  z
    .string({ error: SHA256_RULE })
    .regex(SHA256_ANY_CASE, { error: SHA256_RULE })
    .transform((s) => s.toLowerCase())
    .describe(description);

/** A content hash as the server writes it. */
export const sha256Out = (description: string) => z.string().regex(SHA256_HEX).describe(description);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const DIGITS = /^\d{1,16}$/;
/** The last instant a JavaScript Date can hold (year 275760), as every later step turns times into dates. */
const MAX_DATE_MS = 8.64e15;

const ISO_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Date.parse rolls impossible dates over (30 February becomes 1 March, hour 24 the next day):
 * each part must be in range for the date to count.
 */
function existsOnCalendar(value: string): boolean {
  const m = ISO_PARTS.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, zoneHours, zoneMinutes] = m.slice(1).map<number>((p) => (p === undefined ? 0 : Number(p)));
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    zoneHours <= 23 &&
    zoneMinutes <= 59
  );
}

/** Epoch milliseconds from an integer, a string of digits, or an ISO 8601 date-time with a zone; undefined when none fits. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 && value <= MAX_DATE_MS ? value : undefined;
  if (typeof value === 'string') {
    if (DIGITS.test(value)) {
      const ms = Number(value);
      return Number.isSafeInteger(ms) && ms <= MAX_DATE_MS ? ms : undefined;
    }
    if (ISO_8601.test(value) && existsOnCalendar(value)) {
      const ms = Date.parse(value);
      return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
    }
  }
  return undefined;
}

/**
 * A point in time, read into epoch milliseconds. The pattern lets a string through to `parseTime`,
 * which also refuses dates that match it but do not exist.
 */
export const timestamp = (rule: string, description: string) =>
  z
    .union(
      [z.int({ error: rule }).min(0, { error: rule }), z.string({ error: rule }).regex(new RegExp(`${DIGITS.source}|${ISO_8601.source}`), { error: rule })],
      {
        error: rule,
      },
    )
    .transform((value, ctx) => {
      const ms = parseTime(value);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', message: rule, input: value });
        return z.NEVER;
      }
      return ms;
    })
    .describe(description);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a base64 string or `data:` URL; the problem in words when it is neither. */
export function decodeBase64(value: string): Buffer | string {
  let text = value;
  if (text.startsWith('data:')) {
    const comma = text.indexOf(',');
    if (comma === -1 || !text.slice(0, comma).endsWith(';base64')) return 'data URL must be base64-encoded';
    text = text.slice(comma + 1);
  }
  // Fast path: canonical base64 re-encodes to itself. Two native passes cost a few
  // microseconds where the pattern below takes a fraction of a millisecond on a snapshot.
  const bytes = Buffer.from(text, 'base64');
  if (text.length % 4 === 0 && bytes.toString('base64') === text) return bytes;
  // Anything else (line breaks, missing padding, odd trailing bits, bad characters) gets the exact check.
  text = text.replace(/\s+/g, '');
  if (text.length % 4 === 1 || !BASE64.test(text)) return 'not valid base64';
  return Buffer.from(text, 'base64');
}

const BASE64_RULE = 'expected a base64 string or data URL';

/** Set on an issue whose answer is 415 rather than 400 (see issuesError). */
export const UNSUPPORTED_MEDIA_TYPE = { status: 415 } as const;

/**
 * The media type a `data:` URL declares, lower-cased ('' when it declares none); undefined for a
 * plain base64 string, whose type is sniffed from its content.
 */
export function dataUrlMediaType(value: string): string | undefined {
  if (!value.startsWith('data:')) return undefined;
  const end = value.search(/[;,]/);
  return (end === -1 ? value.slice(5) : value.slice(5, end)).trim().toLowerCase();
}

function isNonImageDataUrl(value: string): boolean {
  const declared = dataUrlMediaType(value);
  return declared !== undefined && declared !== '' && !declared.startsWith('image/');
}

const nonImageMessage = (value: string) => `is a data URL of ${dataUrlMediaType(value)}, not an image`;

/** The bytes of a base64 string or data URL; an issue (and z.NEVER) when it is neither or is empty. */
function decodedImage(value: string, ctx: z.core.$RefinementCtx<string>): Buffer {
  const decoded = decodeBase64(value);
  if (typeof decoded === 'string') {
    ctx.issues.push({ code: 'custom', message: decoded, input: value });
    return z.NEVER;
  }
  if (decoded.byteLength === 0) {
    ctx.issues.push({ code: 'custom', message: 'is empty', input: value });
    return z.NEVER;
  }
  return decoded;
}

const imageText = () => z.string({ error: BASE64_RULE }).min(1, { error: BASE64_RULE });

/**
 * An image sent inside JSON: base64 or a `data:` URL, decoded to bytes (checked as an image later,
 * by its content). A data URL that declares another type than an image is refused (415) as such.
 */
export const base64Image = (description = 'an image, base64-encoded or as a data: URL') =>
  imageText()
    .transform((value, ctx) => {
      if (!isNonImageDataUrl(value)) return decodedImage(value, ctx);
      ctx.issues.push({ code: 'custom', message: nonImageMessage(value), input: value, params: UNSUPPORTED_MEDIA_TYPE });
      return z.NEVER;
    })
    .describe(description);

/**
 * One image of a batch, as `base64Image`, except that a data URL of another type is the 415 of
 * that item alone, returned in place of its bytes: a batch answers each image on its own.
 */
export const base64BatchImage = () =>
  imageText()
    .transform((value, ctx): Buffer | SightlineError => (isNonImageDataUrl(value) ? unsupportedMediaType(nonImageMessage(value)) : decodedImage(value, ctx)))
    .describe('an image, base64-encoded or as a data: URL');

/**
 * An integer query parameter. Query values are strings: digits become a number first, anything
 * else stays a string and fails as not an integer.
 */
export const queryInteger = (min: number, max: number, description: string) => {
  const rule = `must be an integer from ${min} to ${max}`;
  return z
    .preprocess(
      (v) => (typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : v),
      z.int({ error: rule }).min(min, { error: rule }).max(max, { error: rule }),
    )
    .describe(description);
};

/** A model's name as clients give it. */
export const modelName = (description = 'a model in the repository') => {
  const rule = 'must name a model';
  return boundedString(MAX_TEXT, rule).describe(description);
};

/** An object that refuses keys it does not list, naming the first with `unknownRule`. */
export function strictFields<S extends z.core.$ZodLooseShape>(shape: S, rules: { notObject: string; unknown: string }) {
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? rules.unknown : rules.notObject) });
}

/** A query string schema: unknown parameters are refused, so a misspelt filter never matches everything. */
export function queryParameters<S extends z.core.$ZodLooseShape>(shape: S) {
  return strictFields(shape, { notObject: 'expected query parameters', unknown: 'unknown query parameter' });
}

/** A binary file part of a multipart body. */
export const filePart = (description: string) => z.file().describe(description);
