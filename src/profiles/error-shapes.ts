import { z } from 'zod';
import { errorBody as sightlineError, SightlineError } from '../errors.js';
import type { Reply } from '../http/reply.js';

/** How a profile's service wrote its errors: a body from the status and message, and its schema for the document. */
export interface ErrorShape {
  body(status: number, message: string): unknown;
  schema: z.ZodType;
}

/** FastAPI's `HTTPException`: `{"detail": "…"}`. */
export const detailErrors: ErrorShape = {
  body: (_status, message) => ({ detail: message }),
  schema: z
    .strictObject({ detail: z.string().describe('what went wrong') })
    .meta({ id: 'DetailError', description: 'FastAPI-style error: `{"detail": "…"}`.' }),
};

/** Flask services that answer `{"error": "…"}`. */
export const plainErrors: ErrorShape = {
  body: (_status, message) => ({ error: message }),
  schema: z.strictObject({ error: z.string().describe('what went wrong') }).meta({ id: 'PlainError', description: 'Flask-style error: `{"error": "…"}`.' }),
};

/** `{"success": false, "error": "…"}`. */
export const successFalseErrors: ErrorShape = {
  body: (_status, message) => ({ success: false, error: message }),
  schema: z
    .strictObject({ success: z.literal(false), error: z.string().describe('what went wrong') })
    .meta({ id: 'SuccessFalseError', description: 'Error with a success flag: `{"success": false, "error": "…"}`.' }),
};

const INTERNAL = 'internal server error';

/** An error as a profile answers it: same status and headers (Retry-After) as the native answer, the profile's body. */
export function shapedError(shape: ErrorShape, err: unknown): Reply {
  const e = sightlineError(err);
  const headers = e.retryAfter !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(e.retryAfter))) } : undefined;
  const message = err instanceof SightlineError ? e.message : INTERNAL;
  return { status: e.status, contentType: 'application/json', body: JSON.stringify(shape.body(e.status, message)), ...(headers ? { headers } : {}) };
}

/**
 * A native refusal (401, 403, 429 from admission) in the profile's shape: its status and headers
 * stay, its `{"error": {"message"}}` body becomes the profile's.
 */
export function reshapedReply(shape: ErrorShape, reply: Reply): Reply {
  let message = INTERNAL;
  try {
    const parsed = JSON.parse(typeof reply.body === 'string' ? reply.body : Buffer.from(reply.body ?? '').toString('utf8')) as {
      error?: { message?: unknown };
    };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    /* a body that is not the native error: keep the generic message */
  }
  return { ...reply, contentType: 'application/json', body: JSON.stringify(shape.body(reply.status, message)) };
}
