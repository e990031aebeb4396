import { errorBody } from '../errors.js';
import { json, type Reply } from './reply.js';

/** The one error shape: `{"error":{"code","message",...details}}`, with Retry-After where it applies. */
export function errorReply(err: unknown): Reply {
  const e = errorBody(err);
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return json({ error: { code: e.code, message: e.message, ...(e.details ?? {}) } }, e.status, headers);
}
