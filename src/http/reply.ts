/** What a handler returns; the app writes it with one corked write. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  contentType?: string;
  body?: Uint8Array | string;
}

export function json(data: unknown, status = 200, headers?: Record<string, string>): Reply {
  return { status, contentType: 'application/json', body: JSON.stringify(data), ...(headers ? { headers } : {}) };
}

export function bytes(body: Uint8Array, contentType: string, headers?: Record<string, string>, status = 200): Reply {
  return { status, contentType, body, ...(headers ? { headers } : {}) };
}

export function noContent(): Reply {
  return { status: 204 };
}
