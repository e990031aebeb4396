import { errorReply } from '../error-reply.js';
import type { Reply } from '../reply.js';
import { requestIdFor } from '../request-id.js';
import { statusLine } from '../status-line.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

type UpgradeContext = Parameters<HttpResponse['upgrade']>[4];

/** Completes a WebSocket handshake with the given per-connection data. */
export function acceptUpgrade(res: HttpResponse, req: HttpRequest, context: UpgradeContext, userData: object): void {
  res.upgrade(userData, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
}

/** Answers an upgrade request with the JSON error every HTTP route uses, instead of switching protocols. */
export function refuseUpgrade(res: HttpResponse, req: HttpRequest, err: unknown): void {
  sendUpgradeRefusal(res, req, errorReply(err));
}

/**
 * Answers an upgrade request with a ready-made error reply (one that carries its own headers, like
 * a 401's challenge), with an X-Request-Id as every HTTP answer has. Runs while `req` is alive.
 */
export function sendUpgradeRefusal(res: HttpResponse, req: HttpRequest, reply: Reply, requestId = upgradeRequestId(req)): void {
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    res.writeHeader('x-request-id', requestId);
    if (reply.contentType) res.writeHeader('content-type', reply.contentType);
    for (const [key, value] of Object.entries(reply.headers ?? {})) res.writeHeader(key, value);
    res.end(reply.body ?? '', true);
  });
}

/** The client's own X-Request-Id when it is a sane token, as HTTP requests get; otherwise a new one. */
export function upgradeRequestId(req: HttpRequest): string {
  return requestIdFor(req.getHeader('x-request-id') || undefined);
}
