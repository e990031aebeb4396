import { errorBody, SightlineError } from '../errors.js';
import type { Reply } from './reply.js';

const JSON_TYPE = 'application/json';
const INTERNAL_BODY = JSON.stringify({ error: { code: 'internal', message: 'internal server error' } });

/** The one error shape: `{"error":{"code","message",...details}}`, with Retry-After where it applies. */
export function errorReply(err: unknown): Reply {
  // An internal error's answer never varies (its cause stays in the log).
  if (!(err instanceof SightlineError)) return { status: 500, contentType: JSON_TYPE, body: INTERNAL_BODY };
  const reply: Reply = { status: err.status, contentType: JSON_TYPE, body: errorJson(err) };
  if (err.retryAfter !== undefined) reply.headers = { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfter))) };
  return reply;
}

/** The body text; without details (most errors) it is written without building the object first. */
function errorJson(err: SightlineError): string {
  if (err.details === undefined) return `{"error":{"code":${JSON.stringify(err.code)},"message":${JSON.stringify(err.message)}}}`;
  const e = errorBody(err);
  return JSON.stringify({ error: { code: e.code, message: e.message, ...(e.details ?? {}) } });
}
