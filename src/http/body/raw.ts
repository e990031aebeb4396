import { badRequest } from '../../errors.js';
import type { RequestContext } from '../request-context.js';

/** Reads the whole body as bytes, with 413 past `limit` and 400 when it is empty. */
export async function readRaw(ctx: RequestContext, limit: number, what = 'request body'): Promise<Buffer> {
  const bytes = await ctx.body.collect(limit, what);
  if (bytes.byteLength === 0) throw badRequest(`${what} is empty`);
  return bytes;
}
