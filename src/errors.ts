/**
 * Errors that carry their HTTP meaning. Every layer throws these; the HTTP layer turns them
 * into `{"error":{"code","message"}}` with `status`. Anything else reaching a response is a bug (500).
 */
export class SightlineError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  readonly retryAfter: number | undefined;
  /** Extra fields merged into the error body, e.g. which field failed validation. */
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, options: { retryAfter?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    // An expected answer (4xx, 503 refusals, 507) needs no stack, and capturing one is most of
    // what such an error costs; a 500 is a fault and keeps its stack for the log.
    const limit = Error.stackTraceLimit;
    if (isExpectedStatus(status)) Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'SightlineError';
    this.status = status;
    this.code = code;
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }
}

/** Statuses that answer a request as designed rather than report a fault in the server. */
export function isExpectedStatus(status: number): boolean {
  return status < 500 || status === 503 || status === 507;
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new SightlineError(400, 'bad_request', message, details ? { details } : {});
/** One bad field of a request: where it is and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * A 400 that names every bad field at once: the message joins `"<field>: <message>"` with `; `
 * and `field` names the first; with more than one, `fields` lists them all. One bad field gives
 * the same body as a plain field 400.
 */
export function invalidFields(problems: readonly FieldProblem[]): SightlineError {
  if (problems.length === 0) throw new RangeError('invalidFields needs at least one problem');
  const message = problems.map((p) => (p.field === '' ? p.message : `${p.field}: ${p.message}`)).join('; ');
  const first = problems[0].field;
  return badRequest(message, {
    ...(first === '' ? {} : { field: first }),
    ...(problems.length > 1 ? { fields: problems.map((p) => ({ field: p.field, message: p.message })) } : {}),
  });
}
export const notFound = (message: string) => new SightlineError(404, 'not_found', message);
/** `value`, or the 404 saying that `what` (e.g. `job 0190…`) was not found. */
export function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw notFound(`${what} not found`);
  return value;
}
export const conflict = (message: string) => new SightlineError(409, 'conflict', message);
export const payloadTooLarge = (message: string) => new SightlineError(413, 'payload_too_large', message);
export const unsupportedMediaType = (message: string, details?: Record<string, unknown>) =>
  new SightlineError(415, 'unsupported_media_type', message, details ? { details } : {});
export const unprocessableImage = (message: string) => new SightlineError(422, 'undecodable_image', message);
/** The disk (or a database's storage) is full: not a bug, and over once space is freed. */
export const insufficientStorage = (message: string, retryAfter = 30) => new SightlineError(507, 'insufficient_storage', message, { retryAfter });
export const overloaded = (message: string, retryAfter = 1) => new SightlineError(503, 'overloaded', message, { retryAfter });
export const unavailable = (message: string, retryAfter = 1) => new SightlineError(503, 'unavailable', message, { retryAfter });

/** The status and body every error response uses; unknown errors are reported as internal without leaking internals. */
export function errorBody(err: unknown): { status: number; code: string; message: string; retryAfter?: number; details?: Record<string, unknown> } {
  if (err instanceof SightlineError) {
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
      ...(err.details !== undefined ? { details: err.details } : {}),
    };
  }
  return { status: 500, code: 'internal', message: 'internal server error' };
}
