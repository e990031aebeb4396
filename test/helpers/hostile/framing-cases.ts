/**
 * HTTP/1.1 framing attacks over raw TCP: lying and duplicate lengths, chunked abuse, pipelining,
 * oversized heads. A request whose framing is ambiguous is answered 400 and the connection closed
 * (RFC 9112 §6.3), so a proxy in front and the server never disagree on where a request ends.
 */
import { detection } from './bodies.js';
import { outcomeOf, type HostileCase, type Outcome } from './cases.js';
import { conversation, exchange, type ExchangeOptions } from './raw-exchange.js';

const DETECTIONS = '/v1/detections';

export const head = (port: number, method: string, target: string, lines: string[], version = 'HTTP/1.1') =>
  `${method} ${target} ${version}\r\n${[`host: 127.0.0.1:${port}`, ...lines].join('\r\n')}\r\n\r\n`;

function rawCase(what: string, method: string, target: string, expected: string, bytes: (port: number) => Array<Buffer | string>, options: ExchangeOptions = {}): HostileCase {
  return {
    family: 'framing',
    name: `${method} ${target} / framing: ${what}`,
    expected,
    run: async (port): Promise<Outcome> => outcomeOf(await exchange(port, bytes(port), { watchCloseMs: 300, ...options })),
  };
}

/** Requests sent one after another on one connection: each must be answered. */
export function keepAliveCase(what: string, method: string, target: string, expected: string, requests: (port: number) => Buffer[], family = 'framing'): HostileCase {
  return {
    family,
    name: `${method} ${target} / ${family}: keep-alive, ${what}`,
    expected,
    run: async (port) => outcomeOf(await conversation(port, requests(port))),
  };
}

const body = () => JSON.stringify(detection({ cameraId: 'framing-cam' }));
const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

export function framingCases(): HostileCase[] {
  const b = body();
  const json = 'content-type: application/json';
  const chunked = 'transfer-encoding: chunked';
  const ping = (port: number) => head(port, 'GET', '/ping', []);
  return [
    // Content-Length that lies.
    // The rest of the body, then a blank line, reads as a request that is not one.
    rawCase('Content-Length shorter than the body (the rest is garbage)', 'POST', DETECTIONS, '400+close | 400,400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length - 10}`]) + b + '\r\n\r\n']),
    rawCase('Content-Length longer than the body, then EOF', 'POST', DETECTIONS, 'close | 400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length + 100}`]) + b], { halfClose: true }),
    rawCase('Content-Length not a number', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: abc']) + b]),
    rawCase('Content-Length negative', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: -1']) + b]),
    rawCase('Content-Length with a plus sign', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: +${b.length}`]) + b]),
    rawCase('Content-Length as a list "n, n"', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}, ${b.length}`]) + b]),
    rawCase('Content-Length of 2^32', 'POST', DETECTIONS, '413+close | 400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: 4294967296']) + b]),
    rawCase('Content-Length of 2^64 + 1', 'POST', DETECTIONS, '413+close | 400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: 18446744073709551617']) + b]),
    rawCase('two Content-Length headers, short one first', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: 5', `content-length: ${b.length}`]) + b]),
    rawCase('two Content-Length headers, long one first', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, 'content-length: 5']) + b]),
    rawCase('two identical Content-Length headers', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, `content-length: ${b.length}`]) + b]),
    rawCase('Content-Length and Transfer-Encoding: chunked', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, chunked]) + chunk(b) + '0\r\n\r\n']),
    rawCase('Transfer-Encoding: chunked and Content-Length', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked, `content-length: 4`]) + chunk(b) + '0\r\n\r\n']),
    rawCase('Transfer-Encoding: gzip, chunked', 'POST', DETECTIONS, '400+close | 501+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'transfer-encoding: gzip, chunked']) + chunk(b) + '0\r\n\r\n']),
    rawCase('Transfer-Encoding: identity', 'POST', DETECTIONS, '400+close | 501+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'transfer-encoding: identity', `content-length: ${b.length}`]) + b]),
    // Chunked bodies, valid and not.
    rawCase('valid chunked body', 'POST', DETECTIONS, '201', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b.slice(0, 20)) + chunk(b.slice(20)) + '0\r\n\r\n']),
    rawCase('chunk extension', 'POST', DETECTIONS, '201', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `${b.length.toString(16)};name=value\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('chunk trailer field', 'POST', DETECTIONS, '201', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b) + '0\r\nx-trailer: 1\r\n\r\n']),
    rawCase('chunk size not hex', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `zz\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('chunk size negative', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `-${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('chunk size of 2^64 - 1', 'POST', DETECTIONS, '400+close | 413+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `ffffffffffffffff\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('chunk size 2^68 (overflows 64 bits)', 'POST', DETECTIONS, '400+close | 413+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `100000000000000000\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('chunk size of 2 GiB (past the body limit)', 'POST', DETECTIONS, '413+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `80000000\r\n${b}`]),
    rawCase('chunk longer than its size', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `5\r\n${b}\r\n0\r\n\r\n`]),
    rawCase('no terminating chunk, then EOF', 'POST', DETECTIONS, 'close | 400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + chunk(b)], { halfClose: true }),
    rawCase('bare LF after chunk sizes', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `${b.length.toString(16)}\n${b}\n0\n\n`]),
    rawCase('bare LF only after the last chunk', 'POST', DETECTIONS, '400+close', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]) + `${chunk(b)}0\n\n`]),
    rawCase('chunked body over the body limit', 'POST', DETECTIONS, '413+close | 413', (p) => [head(p, 'POST', DETECTIONS, [json, chunked]), ...Array.from({ length: 40 }, () => chunk('A'.repeat(64 * 1024))), '0\r\n\r\n']),
    // Request heads.
    rawCase('bare LF line ends in the head', 'GET', '/ping', '400+close | close', () => ['GET /ping HTTP/1.1\nhost: x\n\n']),
    rawCase('no Host header', 'GET', '/ping', '400 | 400+close', () => ['GET /ping HTTP/1.1\r\n\r\n']),
    rawCase('header line without a colon', 'GET', '/ping', '400+close', (p) => [head(p, 'GET', '/ping', ['this is not a header'])]),
    rawCase('space before the colon', 'GET', '/ping', '400+close | 400', (p) => [head(p, 'GET', '/ping', ['x-test : 1'])]),
    rawCase('obsolete line folding', 'GET', '/ping', '400+close | 400', (p) => [head(p, 'GET', '/ping', ['x-test: a', ' folded'])]),
    rawCase('NUL in a header value', 'GET', '/ping', '400+close | 400', (p) => [head(p, 'GET', '/ping', ['x-test: a\0b'])]),
    rawCase('garbage request line', 'GET', '/ping', '400+close | close', () => ['HELLO THERE\r\n\r\n']),
    rawCase('unknown method', 'BREW', '/ping', '405 | 501', (p) => [head(p, 'BREW', '/ping', [])]),
    rawCase('absolute-form target', 'GET', 'http://127.0.0.1/ping', '200', (p) => [head(p, 'GET', `http://127.0.0.1:${p}/ping`, [])]),
    // No rule sets the largest header; a server serves it or says 431, and past some size it must refuse.
    rawCase('header of 64 KiB', 'GET', '/ping', '200 | 431 | 431+close', (p) => [head(p, 'GET', '/ping', [`x-big: ${'a'.repeat(64 * 1024)}`])]),
    rawCase('header of 1 MiB', 'GET', '/ping', '431 | 431+close', (p) => [head(p, 'GET', '/ping', [`x-big: ${'a'.repeat(1024 * 1024)}`])]),
    rawCase('100 headers', 'GET', '/ping', '200 | 431 | 431+close', (p) => [head(p, 'GET', '/ping', Array.from({ length: 100 }, (_, i) => `x-h${i}: ${i}`))]),
    rawCase('2000 headers', 'GET', '/ping', '431 | 431+close', (p) => [head(p, 'GET', '/ping', Array.from({ length: 2000 }, (_, i) => `x-h${i}: ${i}`))]),
    rawCase('request target of 20000 characters', 'GET', '/v1/jobs/…', '404 | 414 | 414+close | 431 | 431+close', (p) => [head(p, 'GET', `/v1/jobs/${'a'.repeat(20_000)}`, [])]),
    rawCase('request target of 1 MiB', 'GET', '/v1/jobs/…', '414 | 414+close | 431 | 431+close', (p) => [head(p, 'GET', `/v1/jobs/${'a'.repeat(1024 * 1024)}`, [])]),
    rawCase('Connection: close is honoured', 'GET', '/ping', '200+close', (p) => [head(p, 'GET', '/ping', ['connection: close'])]),
    rawCase('Upgrade: h2c is ignored', 'GET', '/ping', '200', (p) => [head(p, 'GET', '/ping', ['connection: Upgrade, HTTP2-Settings', 'upgrade: h2c', 'http2-settings: AAMAAABkAAQAAP__'])]),
    rawCase('Expect: 100-continue', 'POST', DETECTIONS, '100,201 | 201', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, 'expect: 100-continue']) + b], { replies: 2 }),
    rawCase('Expect: 100-continue past the body limit', 'POST', DETECTIONS, '413 | 413+close', (p) => [head(p, 'POST', DETECTIONS, [json, 'content-length: 104857600', 'expect: 100-continue'])]),
    rawCase('head cut off, then EOF', 'GET', '/ping', 'close | 400+close', (p) => [`GET /ping HTTP/1.1\r\nhost: 127.0.0.1:${p}\r\nx-partial: `], { halfClose: true }),
    // Several requests on one connection. The README allows closing a connection that pipelines
    // (the pending request dropped), but never an answer out of order or a hang.
    rawCase('three pipelined GETs', 'GET', '/ping', '200,200,200 | 200,200,200+close | 200+close | 200,200+close', (p) => [ping(p) + ping(p) + ping(p)], { replies: 3 }),
    rawCase('two pipelined POSTs and a GET', 'POST', DETECTIONS, '201,201,200 | 201,201,200+close | 201+close | 201,201+close | close', (p) => [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) + b + head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) + b + ping(p)], { replies: 3 }),
    rawCase('a GET pipelined with a smuggled duplicate-length request', 'GET', '/ping', '200,400+close | 200+close', (p) => [ping(p) + head(p, 'POST', DETECTIONS, [json, 'content-length: 5', `content-length: ${b.length}`]) + b], { replies: 2 }),
    rawCase('request hidden in a body framed by the second Content-Length', 'POST', DETECTIONS, '400+close', (p) => {
      const smuggled = head(p, 'DELETE', '/v1/detections/00000000-0000-4000-8000-000000000000', []);
      return [head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`, `content-length: ${b.length + smuggled.length}`]) + b + smuggled];
    }, { replies: 2 }),
    keepAliveCase('a request after a 400', 'GET', '/v1/jobs?limit=abc', '400,200', (p) => [Buffer.from(head(p, 'GET', '/v1/jobs?limit=abc', [])), Buffer.from(ping(p))]),
    keepAliveCase('a request after a 404', 'GET', '/v1/jobs/nope', '404,200', (p) => [Buffer.from(head(p, 'GET', '/v1/jobs/nope', [])), Buffer.from(ping(p))]),
    keepAliveCase('a request after a 201', 'POST', DETECTIONS, '201,200', (p) => [Buffer.from(head(p, 'POST', DETECTIONS, [json, `content-length: ${b.length}`]) + b), Buffer.from(ping(p))]),
  ];
}
