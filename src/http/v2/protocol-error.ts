import { SightlineError } from '../../errors.js';
import type { Reply } from '../reply.js';

/** The protocol's error: `{"error": "<message>"}` with an HTTP status (Triton's: 400 bad input, 404, 500, 501, 503). */
export const protocolError = (status: number, message: string, retryAfter?: number): SightlineError =>
  new SightlineError(
    status,
    status === 404 ? 'not_found' : status === 503 ? 'unavailable' : status >= 500 ? 'internal' : 'bad_request',
    message,
    retryAfter === undefined ? {} : { retryAfter },
  );

/** Statuses the protocol answers otherwise than the native API: a model that fails to load is a bad request (Triton's 400). */
const PROTOCOL_STATUS: Readonly<Record<string, number>> = { model_load_failed: 400 };

/**
 * An error answer in the protocol's shape, from the native one every layer writes
 * (`{"error": {"code", "message", …}}`): same message and headers (Retry-After, WWW-Authenticate).
 * Answers that are not errors pass unchanged.
 */
export function protocolErrorReply(reply: Reply): Reply {
  if (reply.status < 400 || typeof reply.body !== 'string') return reply;
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
  } catch {
    return reply;
  }
  const error = parsed.error;
  if (error === null || typeof error !== 'object' || typeof error.message !== 'string') return reply;
  const status = (typeof error.code === 'string' ? PROTOCOL_STATUS[error.code] : undefined) ?? reply.status;
  return { ...reply, status, contentType: 'application/json', body: JSON.stringify({ error: error.message }) };
}
