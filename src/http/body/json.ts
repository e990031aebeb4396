import { badRequest, invalidFields, unsupportedMediaType } from '../../errors.js';
import type { RequestContext } from '../request-context.js';
import { unstorableValues } from './json-values.js';

/** Fatal: a body that is not UTF-8 is refused rather than read with U+FFFD in place of its bad bytes. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * Reads a JSON body: 415 unless the content type is JSON, 413 past `limit`, 400 on a parse error,
 * on bytes that are not UTF-8, and on values no database would store as sent (naming each field).
 */
export async function readJson(ctx: RequestContext, limit: number): Promise<unknown> {
  if (!isJsonMediaType(ctx.mediaType)) {
    ctx.body.fail(unsupportedMediaType(`expected Content-Type application/json, got ${ctx.mediaType || 'none'}`));
    throw unsupportedMediaType(`expected Content-Type application/json, got ${ctx.mediaType || 'none'}`);
  }
  const bytes = await ctx.body.collect(limit, 'JSON body');
  if (bytes.byteLength === 0) throw badRequest('request body is empty; expected a JSON document');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest('request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  const problems = unstorableValues(value);
  if (problems.length > 0) throw invalidFields(problems);
  return value;
}
