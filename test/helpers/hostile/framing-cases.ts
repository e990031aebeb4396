/**
 * HTTP/1.1 framing attacks over raw TCP: lying and duplicate lengths, chunked abuse, pipelining,
 * oversized heads. A request whose framing is ambiguous and that reaches sightline is answered 400
 * and the connection closed (RFC 9112 §6.3), so a proxy in front and the server never disagree on
 * where a request ends. Many malformed requests never get that far: uWebSockets.js's own parser
 * refuses them inside its native binary and closes the connection without an answer; those cases
 * expect exactly that (`refusedByParser`), as measured, and that nothing of them ran in the app.
 */
import type { AccessLine, AccessLog } from './access-log.js';
import { detection } from './bodies.js';
import { outcomeOf, refusedByParser, type HostileCase, type Outcome, type ParserReach } from './cases.js';
import { conversation, exchange, type ExchangeOptions } from './raw-exchange.js';

const DETECTIONS = '/v1/detections';

/**
 * uWebSockets.js's fixed HTTP idle timeout: a connection whose request it is still waiting to parse
 * is closed this long after its last bytes (HTTP_IDLE_TIMEOUT_S, 10 s, checked on uSockets' 4 s
 * timer ticks: measured 11.7–12.0 s). It cannot be set from JavaScript.
 */
export const UWS_IDLE_TIMEOUT_MS = 12_000;
/** How long a case waits for uWS to close before calling it a hang: the idle timeout and slack for a busy machine. */
const IDLE_CLOSE_BOUND_MS = UWS_IDLE_TIMEOUT_MS + 4_000;

export const head = (port: number, method: string, target: string, lines: string[], version = 'HTTP/1.1') =>
  `${method} ${target} ${version}\r\n${[`host: 127.0.0.1:${port}`, ...lines].join('\r\n')}\r\n\r\n`;

/** The ids a case marks its requests with, to find them in the access log: the request itself, and one smuggled behind it. */
interface Marks {
  id: string;
  smuggled: string;
}
type Bytes = (port: number, m: Marks) => Array<Buffer | string>;

let marked = 0;
function marks(): Marks {
  const id = `hostile-framing-${++marked}`;
  return { id, smuggled: `${id}-smuggled` };
}
const markLine = (m: Marks) => `x-request-id: ${m.id}`;
/** A request that must never run, marked in its target and its request id. */
const smuggledGet = (port: number, m: Marks) => head(port, 'GET', `/v1/jobs/${m.smuggled}`, [`x-request-id: ${m.smuggled}`]);
const describeLines = (lines: AccessLine[]) => lines.map((l) => `${l.method} ${l.path.slice(0, 60)} ${l.status}`).join(', ');

interface RawOptions extends ExchangeOptions {
  /** The bytes carry a smuggled request (`smuggledGet`): it must not reach the app. */
  smuggles?: boolean;
  startsEarly?: boolean;
}

/** Requests sent one after another on one connection: each must be answered. */
export function keepAliveCase(
  what: string,
  method: string,
  target: string,
  expected: string,
  requests: (port: number) => Buffer[],
  family = 'framing',
): HostileCase {
  return {
    family,
    name: `${method} ${target} / ${family}: keep-alive, ${what}`,
    expected,
    run: async (port) => outcomeOf(await conversation(port, requests(port))),
  };
}

const body = () => JSON.stringify(detection({ cameraId: 'framing-cam' }));
const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

/** The framing cases; `log` tells which of their requests reached the app. */
export function framingCases(log: AccessLog): HostileCase[] {
  function rawCase(what: string, method: string, target: string, expected: string, bytes: Bytes, options: RawOptions = {}): HostileCase {
    const m = marks();
    const { smuggles, startsEarly, ...exchangeOptions } = options;
    return {
      family: 'framing',
      name: `${method} ${target} / framing: ${what}`,
      expected,
      startsEarly,
      run: async (port): Promise<Outcome> => {
        const out = outcomeOf(await exchange(port, bytes(port, m), { watchCloseMs: 300, ...exchangeOptions }));
        if (!smuggles) return out;
        const ran = await log.reached(m.smuggled);
        return ran.length === 0 ? out : { ...out, got: `${out.got} and the smuggled request ran (${describeLines(ran)})` };
      },
    };
  }

  /**
   * A request uWS's parser refuses (`refusedByParser`): no byte of answer, a close within the idle
   * bound, and the access log as `reaches` says. Anything else is reported as what it was.
   */
  function parserCase(what: string, method: string, target: string, reaches: ParserReach, bytes: Bytes, options: { smuggles?: boolean } = {}): HostileCase {
    const m = marks();
    return {
      family: 'framing',
      name: `${method} ${target} / framing: ${what}`,
      expected: refusedByParser(reaches),
      startsEarly: true,
      run: async (port): Promise<Outcome> => {
        const started = Date.now();
        const x = await exchange(port, bytes(port, m), { timeoutMs: IDLE_CLOSE_BOUND_MS });
        const ms = Date.now() - started;
        const reached = await log.reached(m.id);
        const smuggled = options.smuggles ? await log.reached(m.smuggled) : [];
        const faults: string[] = [];
        if (x.replies.length > 0) faults.push(`an answer: ${outcomeOf(x).got}`);
        else if (!x.closed) faults.push(`hang: no close within ${IDLE_CLOSE_BOUND_MS} ms`);
        else if (x.leftover.length > 0) faults.push(`close after ${x.leftover.length} bytes that are no HTTP answer`);
        if (reaches === 'nothing' && reached.length > 0) faults.push(`it reached the app (${describeLines(reached)})`);
        if (reaches === 'head' && reached.length === 0) faults.push('its head never reached the app');
        if (reaches === 'head' && reached.some((l) => l.status < 400)) faults.push(`it succeeded in the app (${describeLines(reached)})`);
        if (smuggled.length > 0) faults.push(`the smuggled request ran (${describeLines(smuggled)})`);
        const statuses = x.replies.map((r) => r.status);
        if (faults.length > 0) return { got: faults.join('; '), statuses, detail: `after ${ms} ms` };
        return { got: refusedByParser(reaches), statuses, detail: `closed after ${ms} ms; in the access log: ${describeLines(reached) || 'nothing'}` };
      },
    };
  }

  const b = body();
  const json = 'content-type: application/json';
  const chunked = 'transfer-encoding: chunked';
  const ping = (port: number) => head(port, 'GET', '/ping', []);
  return [
    // Content-Length that lies.
    // The rest of the body, then a blank line, reads as a request that is not one; a request after
    // it must not run either. uWS, after the 400 for the cut JSON, waits on the garbage and closes
    // the connection at its idle timeout: the close is awaited that long.
    rawCase(
      'Content-Length shorter than the body (the rest is garbage, then a request)',
      'POST',
      DETECTIONS,
      '400+close | 400,400+close',
      (p, m) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length - 10}`]) + b + '\r\n\r\n' + smuggledGet(p, m)],
      {
        smuggles: true,
        startsEarly: true,
        timeoutMs: IDLE_CLOSE_BOUND_MS,
        watchCloseMs: IDLE_CLOSE_BOUND_MS,
      },
    ),
    rawCase(
      'Content-Length longer than the body, then EOF',
      'POST',
      DETECTIONS,
      'close | 400+close',
      (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length + 100}`]) + b],
      { halfClose: true },
    ),
    // A Content-Length uWS cannot read (README, "Request framing"): it calls the handler with the
    // head, then closes the connection at once and discards what was written, even an answer given
    // in the handler itself (measured on a bare uWS app too). sightline's own 400 applies to the
    // one non-number uWS lets through, an empty value.
    parserCase('Content-Length not a number', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), 'content-length: abc']) + b,
    ]),
    parserCase('Content-Length negative', 'POST', DETECTIONS, 'head', (p, m) => [head(p, 'POST', DETECTIONS, [json, markLine(m), 'content-length: -1']) + b]),
    parserCase('Content-Length with a plus sign', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), `content-length: +${b.length}`]) + b,
    ]),
    parserCase('Content-Length as a list "n, n"', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), `content-length: ${b.length}, ${b.length}`]) + b,
    ]),
    // sightline's route answers 413 to these (the access log says so); uWS discards it and closes.
    parserCase('Content-Length of 2^32', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), 'content-length: 4294967296']) + b,
    ]),
    parserCase('Content-Length of 2^64 + 1', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), 'content-length: 18446744073709551617']) + b,
    ]),
    rawCase('Content-Length empty', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: ']) + b]),
    rawCase('two Content-Length headers, short one first', 'POST', DETECTIONS, '400+close', (p) => [
      head(p, 'POST', DETECTIONS, [json, 'content-length: 5', `content-length: ${b.length}`]) + b,
    ]),
    rawCase('two Content-Length headers, long one first', 'POST', DETECTIONS, '400+close', (p) => [
      head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, 'content-length: 5']) + b,
    ]),
    rawCase('two identical Content-Length headers', 'POST', DETECTIONS, '400+close', (p) => [
      head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, `content-length: ${b.length}`]) + b,
    ]),
    rawCase('two Transfer-Encoding: chunked headers', 'POST', DETECTIONS, '400+close', (p) => [
      head(p, 'POST', DETECTIONS, [json, chunked, chunked]) + chunk(b) + '0\r\n\r\n',
    ]),
    // Content-Length with Transfer-Encoding: uWS closes the connection before sightline sees anything.
    parserCase('Content-Length and Transfer-Encoding: chunked', 'POST', DETECTIONS, 'nothing', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), `content-length: ${b.length}`, chunked]) + chunk(b) + '0\r\n\r\n',
    ]),
    parserCase('Transfer-Encoding: chunked and Content-Length', 'POST', DETECTIONS, 'nothing', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked, `content-length: 4`]) + chunk(b) + '0\r\n\r\n',
    ]),
    rawCase('Transfer-Encoding: gzip, chunked', 'POST', DETECTIONS, '400+close | 501+close', (p) => [
      head(p, 'POST', DETECTIONS, [json, 'transfer-encoding: gzip, chunked']) + chunk(b) + '0\r\n\r\n',
    ]),
    parserCase('Transfer-Encoding: identity', 'POST', DETECTIONS, 'nothing', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), 'transfer-encoding: identity', `content-length: ${b.length}`]) + b,
    ]),
    // Chunked bodies, valid and not.
    rawCase('valid chunked body', 'POST', DETECTIONS, '201', (p) => [
      head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b.slice(0, 20)) + chunk(b.slice(20)) + '0\r\n\r\n',
    ]),
    // Chunk framing uWS cannot decode (README, "HTTP/1.1 only"): the head reaches the route, then uWS
    // closes the connection at once; the request ends aborted, nothing is stored.
    parserCase('chunk extension', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `${b.length.toString(16)};name=value\r\n${b}\r\n0\r\n\r\n`,
    ]),
    rawCase('chunk trailer field', 'POST', DETECTIONS, '201', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b) + '0\r\nx-trailer: 1\r\n\r\n']),
    parserCase('chunk size not hex', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `zz\r\n${b}\r\n0\r\n\r\n`,
    ]),
    parserCase('chunk size negative', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `-${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
    ]),
    parserCase('chunk size of 2^64 - 1', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `ffffffffffffffff\r\n${b}\r\n0\r\n\r\n`,
    ]),
    parserCase('chunk size 2^68 (overflows 64 bits)', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `100000000000000000\r\n${b}\r\n0\r\n\r\n`,
    ]),
    parserCase('chunk size of 2 GiB (past the body limit)', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `80000000\r\n${b}`,
    ]),
    parserCase('chunk longer than its size', 'POST', DETECTIONS, 'head', (p, m) => [
      head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `5\r\n${b}\r\n0\r\n\r\n`,
    ]),
    rawCase('no terminating chunk, then EOF', 'POST', DETECTIONS, 'close | 400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b)], {
      halfClose: true,
    }),
    // uWS decodes bare-LF chunk framing its own way (README, "Request framing"): the body is the
    // decoded bytes, a valid detection, so 201. What an LF-tolerant proxy would read as a second
    // chunk holding a request must not run as one: uWS fails to decode it and closes.
    rawCase('bare LF after chunk sizes', 'POST', DETECTIONS, '201', (p) => [
      head(p, 'POST', DETECTIONS, [json, chunked]) + `${b.length.toString(16)}\n${b}\n0\n\n`,
    ]),
    rawCase('bare LF only after the last chunk', 'POST', DETECTIONS, '201', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `${chunk(b)}0\n\n`]),
    parserCase(
      'bare LF chunks, a request as the second chunk',
      'POST',
      DETECTIONS,
      'head',
      (p, m) => {
        const hidden = smuggledGet(p, m);
        return [head(p, 'POST', DETECTIONS, [json, markLine(m), chunked]) + `${b.length.toString(16)}\n${b}\n${hidden.length.toString(16)}\n${hidden}\n0\n\n`];
      },
      { smuggles: true },
    ),
    // The rest of an oversized upload is never read: a client still writing when the socket closes
    // may get a reset instead of the 413 (README); nothing is stored either way.
    rawCase('chunked body over the body limit', 'POST', DETECTIONS, '413+close | 413 | close', (p) => [
      head(p, 'POST', DETECTIONS, [json, chunked]),
      ...Array.from({ length: 40 }, () => chunk('A'.repeat(64 * 1024))),
      '0\r\n\r\n',
    ]),
    // Request heads uWS cannot parse (README, "HTTP/1.1 only"): nothing reaches sightline. uWS
    // waits for a head it can parse and closes at its idle timeout, or at once (an unknown method).
    parserCase('bare LF line ends in the head', 'GET', '/ping', 'nothing', (_, m) => [`GET /ping HTTP/1.1\nhost: x\n${markLine(m)}\n\n`]),
    parserCase('no Host header', 'GET', '/ping', 'nothing', (_, m) => [`GET /ping HTTP/1.1\r\n${markLine(m)}\r\n\r\n`]),
    parserCase('header line without a colon', 'GET', '/ping', 'nothing', (p, m) => [head(p, 'GET', '/ping', [markLine(m), 'this is not a header'])]),
    parserCase('space before the colon', 'GET', '/ping', 'nothing', (p, m) => [head(p, 'GET', '/ping', [markLine(m), 'x-test : 1'])]),
    parserCase('obsolete line folding', 'GET', '/ping', 'nothing', (p, m) => [head(p, 'GET', '/ping', [markLine(m), 'x-test: a', ' folded'])]),
    parserCase('NUL in a header value', 'GET', '/ping', 'nothing', (p, m) => [head(p, 'GET', '/ping', [markLine(m), 'x-test: a\0b'])]),
    parserCase('garbage request line', 'GET', '/ping', 'nothing', (_, m) => [`HELLO THERE\r\n${markLine(m)}\r\n\r\n`]),
    parserCase('unknown method', 'BREW', '/ping', 'nothing', (p, m) => [head(p, 'BREW', '/ping', [markLine(m)])]),
    parserCase('absolute-form target', 'GET', 'http://127.0.0.1/ping', 'nothing', (p, m) => [head(p, 'GET', `http://127.0.0.1:${p}/ping`, [markLine(m)])]),
    // No rule sets the largest header; a server serves it or says 431, and past some size it must refuse.
    // uWS answers 431 in most runs and in some closes without an answer (how the 64 KiB arrive in
    // reads seems to decide it): both are refusals, and nothing reaches sightline in either.
    rawCase('header of 64 KiB', 'GET', '/ping', '200 | 431 | 431+close | close', (p) => [head(p, 'GET', '/ping', [`x-big: ${'a'.repeat(64 * 1024)}`])]),
    // Past uWS's head limits (48 header lines, 4 KiB more than it can hold) nothing reaches sightline:
    // uWS closes without an answer (README, "HTTP/1.1 only"), so there is no 431 to expect.
    parserCase('header of 1 MiB', 'GET', '/ping', 'nothing', (p, m) => [head(p, 'GET', '/ping', [markLine(m), `x-big: ${'a'.repeat(1024 * 1024)}`])]),
    parserCase('100 headers', 'GET', '/ping', 'nothing', (p, m) => [
      head(p, 'GET', '/ping', [markLine(m), ...Array.from({ length: 100 }, (_, i) => `x-h${i}: ${i}`)]),
    ]),
    parserCase('2000 headers', 'GET', '/ping', 'nothing', (p, m) => [
      head(p, 'GET', '/ping', [markLine(m), ...Array.from({ length: 2000 }, (_, i) => `x-h${i}: ${i}`)]),
    ]),
    rawCase('request target of 20000 characters', 'GET', '/v1/jobs/…', '404 | 414 | 414+close | 431 | 431+close', (p) => [
      head(p, 'GET', `/v1/jobs/${'a'.repeat(20_000)}`, []),
    ]),
    parserCase('request target of 1 MiB', 'GET', '/v1/jobs/…', 'nothing', (p, m) => [head(p, 'GET', `/v1/jobs/${'a'.repeat(1024 * 1024)}`, [markLine(m)])]),
    rawCase('Connection: close is honoured', 'GET', '/ping', '200+close', (p) => [head(p, 'GET', '/ping', ['connection: close'])]),
    rawCase('Upgrade: h2c is ignored', 'GET', '/ping', '200', (p) => [
      head(p, 'GET', '/ping', ['connection: Upgrade, HTTP2-Settings', 'upgrade: h2c', 'http2-settings: AAMAAABkAAQAAP__']),
    ]),
    rawCase(
      'Expect: 100-continue',
      'POST',
      DETECTIONS,
      '100,201 | 201',
      (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, 'expect: 100-continue']) + b],
      { replies: 2 },
    ),
    // uWS sends 100 Continue itself before the route refuses the length; a final status after an
    // interim 100 is valid HTTP (RFC 9110 §10.1.1).
    rawCase(
      'Expect: 100-continue past the body limit',
      'POST',
      DETECTIONS,
      '413+close | 100,413+close',
      (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: 104857600', 'expect: 100-continue'])],
      { replies: 2 },
    ),
    rawCase('head cut off, then EOF', 'GET', '/ping', 'close | 400+close', (p) => [`GET /ping HTTP/1.1\r\nhost: 127.0.0.1:${p}\r\nx-partial: `], {
      halfClose: true,
    }),
    // Several requests on one connection. The README allows closing a connection that pipelines
    // (the pending request dropped), but never an answer out of order or a hang.
    rawCase('three pipelined GETs', 'GET', '/ping', '200,200,200 | 200,200,200+close | 200+close | 200,200+close', (p) => [ping(p) + ping(p) + ping(p)], {
      replies: 3,
    }),
    rawCase(
      'two pipelined POSTs and a GET',
      'POST',
      DETECTIONS,
      '201,201,200 | 201,201,200+close | 201+close | 201,201+close | close',
      (p) => [
        head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) +
          b +
          head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) +
          b +
          ping(p),
      ],
      { replies: 3 },
    ),
    rawCase(
      'a GET pipelined with a smuggled duplicate-length request',
      'GET',
      '/ping',
      '200,400+close | 200+close',
      (p) => [ping(p) + head(p, 'POST', DETECTIONS, [json, 'content-length: 5', `content-length: ${b.length}`]) + b],
      { replies: 2 },
    ),
    // The 400 goes out a turn later so the hidden request cannot run; uWS then meets the hidden
    // bytes and closes first (README). What must hold: the hidden DELETE never runs.
    rawCase(
      'request hidden in a body framed by the second Content-Length',
      'POST',
      DETECTIONS,
      '400+close | close',
      (p, m) => {
        const smuggled = head(p, 'DELETE', `/v1/detections/${m.smuggled}`, [`x-request-id: ${m.smuggled}`]);
        return [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, `content-length: ${b.length + smuggled.length}`]) + b + smuggled];
      },
      { replies: 2, smuggles: true },
    ),
    keepAliveCase('a request after a 400', 'GET', '/v1/jobs?limit=abc', '400,200', (p) => [
      Buffer.from(head(p, 'GET', '/v1/jobs?limit=abc', [])),
      Buffer.from(ping(p)),
    ]),
    keepAliveCase('a request after a 404', 'GET', '/v1/jobs/nope', '404,200', (p) => [Buffer.from(head(p, 'GET', '/v1/jobs/nope', [])), Buffer.from(ping(p))]),
    keepAliveCase('a request after a 201', 'POST', DETECTIONS, '201,200', (p) => [
      Buffer.from(head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) + b),
      Buffer.from(ping(p)),
    ]),
  ];
}
