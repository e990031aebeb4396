import { badRequest, unsupportedMediaType } from '../../errors.js';
import type { RequestContext } from '../request-context.js';

export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Reads a JSON body: 415 unless the content type is JSON, 413 past `limit`, 400 on a parse error. */
export async function readJson(ctx: RequestContext, limit: number): Promise<unknown> {
  if (!isJsonMediaType(ctx.mediaType)) {
    ctx.body.fail(unsupportedMediaType(`expected Content-Type application/json, got ${ctx.mediaType || 'none'}`));
    throw unsupportedMediaType(`expected Content-Type application/json, got ${ctx.mediaType || 'none'}`);
  }
  const bytes = await ctx.body.collect(limit, 'JSON body');
  if (bytes.byteLength === 0) throw badRequest('request body is empty; expected a JSON document');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}
