/** What a handler returns; the app writes it with one corked write. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  contentType?: string;
  body?: Uint8Array | string;
}

export function json(data: unknown, status = 200, headers?: Record<string, string>): Reply {
  const reply: Reply = { status, contentType: 'application/json', body: JSON.stringify(data) };
  if (headers) reply.headers = headers;
  return reply;
}

/**
 * A JSON answer that never varies, serialised once. It is frozen: the app only reads replies,
 * and a caller that wants other headers builds its own.
 */
export function constantJson(data: unknown, status = 200): Readonly<Reply> {
  return Object.freeze({ status, contentType: 'application/json', body: JSON.stringify(data) });
}

export function bytes(body: Uint8Array, contentType: string, headers?: Record<string, string>, status = 200): Reply {
  const reply: Reply = { status, contentType, body };
  if (headers) reply.headers = headers;
  return reply;
}

export function noContent(): Reply {
  return { status: 204 };
}
