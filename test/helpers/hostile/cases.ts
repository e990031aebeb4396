import { exchange, type ExchangeOptions, type RawExchange, type RawReply } from './raw-exchange.js';

/**
 * A hostile-input case: a request (or a socket's worth of bytes, or WebSocket frames) and the one
 * answer the rules call for. Expectations are written as outcome strings:
 *   "400"          a reply with that status (the connection may stay open or close)
 *   "400+close"    that status, then the server closes the connection
 *   "close"        the server closes the connection without answering
 *   "frame:<code>+open"  (WebSocket) an error frame with that code, and the socket still serves
 *   "close:<code>" (WebSocket) the server closes with that close code
 *   "refusedByParser(reaches …)"  uWebSockets.js's own parser refuses the bytes: see `refusedByParser`
 * Alternatives are joined with " | ". An answer that breaks the README's promises for every answer
 * gets a suffix ("400 without x-request-id"), so it matches no expectation.
 */
export interface HostileCase {
  family: string;
  /** `METHOD path / family: what`, unique in the suite. */
  name: string;
  expected: string;
  /** The OpenAPI path the case attacks, for cases generated from the document. */
  route?: string;
  run: (port: number) => Promise<Outcome>;
  /**
   * Started with the suite rather than in its family's turn: the case may wait out uWS's idle
   * timeout, and such cases overlap, so the suite pays that timeout once rather than per case.
   */
  startsEarly?: boolean;
}

/**
 * How far the bytes of a request that uWebSockets.js's parser refuses got before it closed the
 * connection, as measured: `nothing` reached sightline (no access-log line); the `head` reached the
 * handler, then uWS closed the connection and discarded whatever was written (it does so on a
 * Content-Length it cannot read even when the handler answers at once), or cut a chunked body it
 * cannot decode (the request ends aborted, 499 in the access log).
 */
export type ParserReach = 'nothing' | 'head';

/**
 * The expectation for a request that uWebSockets.js's own HTTP parser refuses, inside its native
 * binary, before sightline can answer (README, "HTTP/1.1 only" and "Request framing"): the
 * connection is closed with no byte of answer, at once or at uWS's fixed idle timeout, and nothing
 * of it succeeded in the app. This is the parser's behaviour, not a status sightline chose: no
 * status can be asked of sightline here. A case gets this outcome only when every part of it was
 * seen (no answer, a close within the bound, the access log as `reaches` says), so an answer that
 * starts coming (a 400, a 200 to a smuggled request) fails the case and asks for a new measurement.
 */
export function refusedByParser(reaches: ParserReach): string {
  return `refusedByParser(reaches ${reaches})`;
}

export interface Outcome {
  /** The outcome string, in the grammar of `HostileCase.expected`; "hang" when nothing happened in time. */
  got: string;
  /** HTTP statuses seen, for the suite-wide 5xx check. */
  statuses: number[];
  /** Body of the first reply. */
  body?: string;
  /** Headers of the first reply. */
  headers?: Record<string, string>;
  detail?: string;
}

export function matches(expected: string, got: string): boolean {
  return expected
    .split('|')
    .map((e) => e.trim())
    .some((e) => e === got || (/^\d{3}$/.test(e) && got.startsWith(`${e}+`)));
}

/**
 * The error body a target's answers carry: sightline's own `{"error":{"code","message"}}`, or on
 * `/v2` the Open Inference Protocol's `{"error":"<message>"}` (its clients read `error` as a string).
 */
export type ErrorShape = 'native' | 'protocol';
export const errorShapeOf = (target: string): ErrorShape => (/^\/v2(?:[/?]|$)/.test(target) ? 'protocol' : 'native');

function hasErrorBody(body: Buffer, shape: ErrorShape): boolean {
  let parsed: { error?: unknown } | undefined;
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return false;
  }
  const error = parsed?.error;
  if (shape === 'protocol') return typeof error === 'string' && error.length > 0;
  const e = error as { code?: unknown; message?: unknown } | null | undefined;
  return typeof e?.code === 'string' && typeof e.message === 'string';
}

/**
 * What the README promises of every answer, as a suffix to the outcome when broken: an
 * `x-request-id`, a JSON error body of the target's shape on errors, `Allow` on 405,
 * `Retry-After` on 429 and 503.
 */
export function answerFaults(r: RawReply, shape: ErrorShape = 'native'): string[] {
  const faults: string[] = [];
  if (!r.headers['x-request-id']) faults.push('without x-request-id');
  if (r.status >= 400 && !hasErrorBody(r.body, shape)) faults.push(shape === 'protocol' ? 'without a protocol error body' : 'without a JSON error body');
  if (r.status === 405 && !r.headers.allow) faults.push('without Allow');
  if ((r.status === 429 || r.status === 503) && !r.headers['retry-after']) faults.push('without Retry-After');
  return faults;
}

/** The outcome of an exchange: the statuses in order, "+close" when the server closed, and any faults of the answers. */
export function outcomeOf(x: RawExchange, shape: ErrorShape = 'native'): Outcome {
  const first = x.replies[0];
  if (first === undefined) return { got: x.closed ? 'close' : 'hang', statuses: [] };
  const faults = [...new Set(x.replies.filter((r) => r.status !== 100 && r.status !== 101).flatMap((r) => answerFaults(r, shape)))];
  return {
    got: `${x.replies.map((r) => r.status).join(',')}${x.closed ? '+close' : ''}${faults.length ? ` ${faults.join(', ')}` : ''}`,
    statuses: x.replies.map((r) => r.status),
    headers: first.headers,
    body: first.body.toString('utf8'),
    detail: first.body.toString('utf8').slice(0, 300),
  };
}

export interface HttpRequest {
  method: string;
  /** The request target exactly as sent (percent-encoding untouched). */
  target: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
}

/** Request bytes: request line, Host, the given headers, a Content-Length for the body unless one is given. */
export function requestBytes(port: number, req: HttpRequest): Buffer {
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const headers: Record<string, string | number> = { host: `127.0.0.1:${port}`, ...req.headers };
  const named = Object.keys(headers).map((k) => k.toLowerCase());
  if (
    !named.includes('content-length') &&
    !named.includes('transfer-encoding') &&
    (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method))
  )
    headers['content-length'] = body.length;
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Sends one request on its own connection and returns its outcome. */
export async function send(port: number, req: HttpRequest, options: ExchangeOptions = {}): Promise<Outcome> {
  return outcomeOf(await exchange(port, requestBytes(port, req), options), errorShapeOf(req.target));
}

/** A case that sends one HTTP request; `watchClose` when the expectation says whether the connection closes. */
export function httpCase(family: string, what: string, req: HttpRequest, expected: string, options: ExchangeOptions = {}): HostileCase {
  const watch = expected.includes('close') ? { watchCloseMs: 300 } : {};
  return {
    family,
    name: `${req.method} ${shortTarget(req.target)} / ${family}: ${what}`,
    expected,
    run: (port) => send(port, req, { ...watch, ...options }),
  };
}

/** Targets in case names stay readable: long runs are abbreviated, keeping the end, which tells routes apart (`…/ready`, `…/stats`). */
export function shortTarget(target: string): string {
  return target.length > 90 ? `${target.slice(0, 60)}…${target.slice(-20)} (${target.length} chars)` : target;
}

/**
 * A 400 must name the bad field (README: "the error names the field"): `error.field` or one of
 * `error.fields[].field` starts with it. A 400 that does not gets "400 not naming <field>".
 */
export function namesField(c: HostileCase, field: string): HostileCase {
  return {
    ...c,
    run: async (port) => {
      const out = await c.run(port);
      if (!out.got.startsWith('400')) return out;
      let error: { field?: unknown; fields?: Array<{ field?: unknown }> } | undefined;
      try {
        error = (JSON.parse(out.body ?? '') as { error?: typeof error }).error;
      } catch {
        error = undefined;
      }
      const named = [error?.field, ...(error?.fields ?? []).map((f) => f.field)].some((f) => typeof f === 'string' && f.startsWith(field));
      return named ? out : { ...out, got: `${out.got} not naming ${field}` };
    },
  };
}
