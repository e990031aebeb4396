import { getKey, requestKey } from './api-key.js';

/** An error answer from the server: `{"error":{"code","message"}}` with its status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const MAX_KEY_PROMPTS = 3;

/**
 * fetch() against the server's own origin with the API key attached. A 401 asks for a key and
 * retries; a refused key is asked for again.
 */
async function send(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const key = getKey();
    const headers = new Headers(init.headers);
    if (key) headers.set('X-API-Key', key);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401 || attempt >= MAX_KEY_PROMPTS) return res;
    const reason = key ? 'That API key was not accepted. Enter another one.' : 'This server requires an API key.';
    await requestKey(reason).catch(() => {
      throw new ApiError(401, 'unauthorized', 'an API key is required');
    });
  }
}

async function failure(res) {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

/** JSON request; resolves with the parsed body, rejects with ApiError. */
export async function api(path, { method = 'GET', body, headers } = {}) {
  const init = { method, headers: { accept: 'application/json', ...headers } };
  if (body instanceof FormData || body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await send(path, init);
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? undefined : res.json();
}

/** Binary download (stored snapshots); img tags cannot send the key header, so images come through here. */
export async function apiBlob(path) {
  const res = await send(path);
  if (!res.ok) throw await failure(res);
  return res.blob();
}

export const modelPath = (name, action = '') => `/v1/models/${encodeURIComponent(name)}${action ? `/${action}` : ''}`;
