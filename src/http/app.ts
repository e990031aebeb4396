import { badRequest, notFound, SightlineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BodySource } from './body-source.js';
import { errorReply } from './error-reply.js';
import { framingProblem, isFramingHeader } from './framing.js';
import { RequestContext, type PeerSource } from './request-context.js';
import type { Reply } from './reply.js';
import { requestIdFor } from './request-id.js';
import type { Route, Router } from './router.js';
import { statusLine } from './status-line.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, Uws } from './uws.js';

export interface HttpAppOptions {
  uws: Uws;
  router: Router;
  logger: Logger;
  /** Hard cap on any request body, whatever the route reads. */
  maxBodyBytes: number;
  /** Registers WebSocket routes on the uWS app before the HTTP catch-all. */
  websockets?: (app: TemplatedApp) => void;
  /**
   * Runs before a matched route's handler (authentication, rate limits): a reply refuses the
   * request with it, undefined lets it through. A promise (a verdict from a shared store) runs the
   * handler once it resolves, from the copied headers and the buffered body.
   */
  admit?: (ctx: RequestContext, route: Route) => Reply | undefined | Promise<Reply | undefined>;
  /** Called once per finished request (metrics). */
  observe?: (route: string, method: string, status: number, seconds: number) => void;
}

/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT (1), exported by the native module but not typed. */
function exclusivePort(uws: Uws): number {
  return (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
}

/** Bodies up to this size go out in one `end`; larger ones stream with backpressure. */
const STREAM_THRESHOLD = 256 * 1024;

/**
 * A Content-Length body the route left unread, up to this many bytes still to come, is skipped by
 * uWS (it frames by the length and drops the bytes), so the connection stays open: cheaper than a
 * new connection for a client that sent a small image to a 404 or a refusal. A larger remainder
 * closes the connection rather than take in bytes nobody reads.
 */
const UNREAD_BODY_SKIP_BYTES = 64 * 1024;

/**
 * A body refused as too large (413) with up to this many bytes still to come is read to its end and
 * dropped (uWS frames it by its length) under `Connection: close`, instead of the connection being
 * closed at once: a client still writing into a closed socket gets a reset, and the reset discards
 * the 413 waiting in its receive buffer, so it would never learn why. A larger rest is not worth
 * taking in; that connection closes at once.
 */
const REFUSED_BODY_DRAIN_BYTES = 8 * 1024 * 1024;

/** One request and its response, from arrival to the last byte written. */
class Exchange implements PeerSource {
  ctx!: RequestContext;
  status = 0;
  done = false;
  /** An abort handler is attached (uWS takes one per response). */
  watched = false;

  constructor(
    readonly res: HttpResponse,
    /** Close the connection after the reply whatever the body's state (a framing refusal). */
    readonly close: boolean,
  ) {}

  remoteAddress(): string {
    return this.done ? '' : Buffer.from(this.res.getRemoteAddressAsText()).toString();
  }
}

/**
 * The uWebSockets.js front end: one catch-all route that copies what it needs out of the request,
 * dispatches through the router, and writes the reply corked. Tracks requests in flight so a
 * shutdown can stop listening and wait for them.
 */
export class HttpApp {
  readonly app: TemplatedApp;
  private readonly options: HttpAppOptions;
  private listenSocket: us_listen_socket | undefined;
  private boundPort = 0;
  private readonly inFlight = new Set<Exchange>();
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  /** True while a uWS request handler runs: uWS has corked the socket, so writes need no cork of their own. */
  private inHandler = false;
  // The header copy's state, reused by every request (the copy runs synchronously in the handler).
  private copied: Record<string, string> = {};
  private repeated: string | undefined;
  private readonly copyHeader = (key: string, value: string): void => {
    if (this.copied[key] !== undefined && isFramingHeader(key)) this.repeated ??= key;
    this.copied[key] = value;
  };

  constructor(options: HttpAppOptions) {
    this.options = options;
    this.app = options.uws.App();
    options.websockets?.(this.app);
    this.app.any('/*', (res, req) => {
      this.inHandler = true;
      try {
        this.onRequest(res, req);
      } finally {
        this.inHandler = false;
      }
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      // uWS listens with SO_REUSEPORT by default, so a second server on a taken port would start
      // and the kernel would split connections between the two: listen exclusively instead.
      const listenExclusive = this.app.listen.bind(this.app) as unknown as (
        host: string,
        port: number,
        options: number,
        cb: (socket: us_listen_socket | false) => void,
      ) => TemplatedApp;
      listenExclusive(host, port, exclusivePort(this.options.uws), (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port} (address in use or not available)`));
        this.listenSocket = socket;
        this.boundPort = this.options.uws.us_socket_local_port(socket);
        resolve(this.boundPort);
      });
    });
  }

  /**
   * The start of a drain: requests are still served, but every answer closes its connection, so a
   * balancer's pooled connections to this replica are gone by the time it stops accepting.
   */
  closeConnectionsAfterReplies(): void {
    this.draining = true;
  }

  /** Stops accepting connections, then waits up to `deadlineMs` for requests in flight. */
  async close(deadlineMs: number): Promise<{ drained: boolean; abandoned: number }> {
    this.draining = true;
    if (this.listenSocket) {
      this.options.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    if (this.inFlight.size === 0) return { drained: true, abandoned: 0 };
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    return { drained, abandoned: this.inFlight.size };
  }

  private onRequest(res: HttpResponse, req: HttpRequest): void {
    const startedAt = process.hrtime.bigint();
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers: Record<string, string> = (this.copied = {});
    this.repeated = undefined;
    req.forEach(this.copyHeader);
    // From here on the uWS request object is dead: only the copies above are used.
    const framing = framingProblem(headers, this.repeated);
    const declared = headers['content-length'];
    const declaredLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    const hasBody = framing === undefined && ((declaredLength ?? 0) > 0 || headers['transfer-encoding'] !== undefined);
    const body = new BodySource(res, { declaredLength, hasBody, hardLimit: this.options.maxBodyBytes });
    const exchange = new Exchange(res, framing !== undefined);
    const ctx = new RequestContext({
      method,
      path,
      rawQuery,
      headers,
      requestId: requestIdFor(headers['x-request-id']),
      peer: exchange,
      body,
      startedAt,
    });
    exchange.ctx = ctx;
    this.inFlight.add(exchange);

    if (framing !== undefined) {
      this.watchAbort(exchange);
      // Answered on a later turn: uWS dispatches bytes that follow in the same read as the next
      // request as soon as this one is answered, even on a closing connection. While this one is
      // pending it closes the connection at such bytes instead, so a smuggled request never runs.
      const reply = errorReply(badRequest(`ambiguous request framing: ${framing}`));
      setImmediate(() => this.send(exchange, reply));
      return;
    }

    const match = this.options.router.match(method, path);
    let result: Reply | Promise<Reply>;
    let route: Route | undefined;
    if (match.kind === 'not-found') {
      result = errorReply(notFound(`no route for ${method} ${path}`));
    } else if (match.kind === 'method-not-allowed') {
      const reply = errorReply(new SightlineError(405, 'method_not_allowed', `${method} is not allowed on ${path}; allowed: ${match.allow.join(', ')}`));
      reply.headers = { ...reply.headers, allow: match.allow.join(', ') };
      result = match.errorReply?.(reply) ?? reply;
    } else {
      const matched = (route = match.route);
      ctx.params = match.params;
      ctx.routeName = matched.name ?? matched.path;
      try {
        const refusal = this.options.admit?.(ctx, matched);
        if (refusal instanceof Promise) {
          // Its abort watch is attached below, before this uWS handler returns; a client gone by the
          // verdict gets no handler run for it.
          result = refusal.then((r) => (ctx.aborted ? abandoned() : r === undefined ? matched.handler(ctx) : (matched.errorReply?.(r) ?? r)));
        } else {
          result = refusal === undefined ? matched.handler(ctx) : (matched.errorReply?.(refusal) ?? refusal);
        }
      } catch (err) {
        result = this.failureReply(ctx, err, route);
      }
    }
    if (result instanceof Promise) {
      // Only a reply that comes later needs to know of a client that leaves first.
      this.watchAbort(exchange);
      result.then(
        (reply) => this.send(exchange, reply),
        (err) => this.send(exchange, this.failureReply(ctx, err, route)),
      );
    } else {
      // uWS counts a HEAD answer (a length without its body) as still pending: it needs the handler too.
      if (method === 'HEAD') this.watchAbort(exchange);
      this.send(exchange, result);
    }
  }

  private watchAbort(exchange: Exchange): void {
    if (exchange.watched) return;
    exchange.watched = true;
    exchange.res.onAborted(() => {
      const { ctx } = exchange;
      ctx.body.detach();
      if (exchange.done) return;
      const reason = new SightlineError(499, 'client_closed', 'client closed the connection');
      ctx.markAborted(reason);
      ctx.body.fail(reason);
      this.finish(exchange, 499, 0);
    });
  }

  private failureReply(ctx: RequestContext, err: unknown, route?: Route): Reply {
    if (ctx.aborted) {
      // The client went away; whatever the route threw on its way out (an abandoned queue slot, a
      // cut body) is the consequence, not a fault, and no reply will reach anyone.
      this.options.logger.debug({ err, reqId: ctx.requestId, route: ctx.routeName }, 'route ended after the client aborted');
    } else if (!(err instanceof SightlineError)) {
      this.options.logger.error({ err, reqId: ctx.requestId, route: ctx.routeName }, 'unhandled error in route');
    }
    const reply = errorReply(err);
    return route?.errorReply?.(reply) ?? reply;
  }

  private send(exchange: Exchange, reply: Reply): void {
    if (exchange.done) return;
    const { res, ctx } = exchange;
    // A body the route did not read to the end is skipped only when its length is declared and small;
    // a refused one (413) is drained under Connection: close when its rest is declared and bounded,
    // and otherwise closes the connection.
    const drainRefused = reply.status === 413 && !this.draining && !exchange.close && !ctx.body.isEnded && unreadBodyWithin(ctx, REFUSED_BODY_DRAIN_BYTES);
    const closeConnection =
      !drainRefused && (this.draining || exchange.close || !(ctx.body.isEnded || (reply.status !== 413 && unreadBodyWithin(ctx, UNREAD_BODY_SKIP_BYTES))));
    if (drainRefused) reply = { ...reply, headers: { ...reply.headers, connection: 'close' } };
    // A paused upload must not hold the reply; past the reply uWS forbids touching the response,
    // so a late drain must not resume it.
    ctx.body.resume();
    ctx.body.detach();
    const body = reply.body ?? '';
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    exchange.status = reply.status;
    let streaming = false;
    if (this.inHandler) streaming = this.write(exchange, reply, body, size, closeConnection);
    else res.cork(() => (streaming = this.write(exchange, reply, body, size, closeConnection)));
    if (!streaming) this.finish(exchange, reply.status, size);
  }

  /** Writes status, headers and body (corked by the caller); true when the body is still streaming. */
  private write(exchange: Exchange, reply: Reply, body: Uint8Array | string, size: number, closeConnection: boolean): boolean {
    const { res, ctx } = exchange;
    res.writeStatus(statusLine(reply.status));
    res.writeHeader('x-request-id', ctx.requestId);
    if (reply.contentType) res.writeHeader('content-type', reply.contentType);
    if (reply.headers) for (const key in reply.headers) res.writeHeader(key, reply.headers[key]);
    if (reply.status === 204 || reply.status === 304) {
      // These statuses carry no body and no Content-Length (a closing connection gets 0: uWS needs a length there).
      if (closeConnection) res.endWithoutBody(0, true);
      else res.endWithoutBody();
    } else if (ctx.method === 'HEAD') {
      res.endWithoutBody(size, closeConnection);
    } else if (size <= STREAM_THRESHOLD || typeof body === 'string') {
      res.end(body, closeConnection);
    } else {
      return !this.streamBody(exchange, body);
    }
    return false;
  }

  /** Writes a large body respecting backpressure; returns true when it all went out at once. */
  private streamBody(exchange: Exchange, body: Uint8Array): boolean {
    const { res } = exchange;
    const base = res.getWriteOffset();
    const total = body.byteLength;
    const [, done] = res.tryEnd(body, total);
    if (done) return true;
    // The rest goes out after the handler returns: a client that leaves meanwhile must end the exchange.
    this.watchAbort(exchange);
    res.onWritable((offset) => {
      const [ok, finished] = res.tryEnd(body.subarray(offset - base), total);
      if (finished) this.finish(exchange, exchange.status, total);
      return ok;
    });
    return false;
  }

  private finish(exchange: Exchange, status: number, bytesOut: number): void {
    if (exchange.done) return;
    exchange.done = true;
    this.inFlight.delete(exchange);
    const { ctx } = exchange;
    const logger = this.options.logger;
    if (logger.isLevelEnabled('info')) this.logAccess(ctx, status, bytesOut);
    this.options.observe?.(ctx.routeName || 'unmatched', ctx.method, status, Number(process.hrtime.bigint() - ctx.startedAt) / 1e9);
    if (this.inFlight.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private logAccess(ctx: RequestContext, status: number, bytesOut: number): void {
    const ms = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
    this.options.logger.info(
      {
        reqId: ctx.requestId,
        method: ctx.method,
        path: ctx.path,
        route: ctx.routeName || undefined,
        status,
        ms: Math.round(ms * 1000) / 1000,
        bytesIn: ctx.body.bytesReceived,
        bytesOut,
        ...ctx.logFields,
      },
      'request',
    );
  }
}

/** What a request the client left during admission resolves to; `send` drops it (the exchange is done). */
function abandoned(): Reply {
  return errorReply(new SightlineError(499, 'client_closed', 'client closed the connection'));
}

/** The unread rest of the body is framed by Content-Length alone and at most `bytes` long, so uWS can skip it. */
function unreadBodyWithin(ctx: RequestContext, bytes: number): boolean {
  const declared = ctx.body.declaredLength;
  return declared !== undefined && ctx.headers['transfer-encoding'] === undefined && declared - ctx.body.bytesReceived <= bytes;
}
