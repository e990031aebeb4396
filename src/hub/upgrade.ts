import { errorReply } from '../http/error-reply.js';
import type { Reply } from '../http/reply.js';
import { statusLine } from '../http/status-line.js';
import type { HttpRequest, HttpResponse } from '../http/uws.js';

type UpgradeContext = Parameters<HttpResponse['upgrade']>[4];

/** Completes a WebSocket handshake with the given per-connection data. */
export function acceptUpgrade(res: HttpResponse, req: HttpRequest, context: UpgradeContext, userData: object): void {
  res.upgrade(
    userData,
    req.getHeader('sec-websocket-key'),
    req.getHeader('sec-websocket-protocol'),
    req.getHeader('sec-websocket-extensions'),
    context,
  );
}

/** Answers an upgrade request with the JSON error every HTTP route uses, instead of switching protocols. */
export function refuseUpgrade(res: HttpResponse, err: unknown): void {
  sendUpgradeRefusal(res, errorReply(err));
}

/** Answers an upgrade request with a ready-made error reply (one that carries its own headers, like a 401's challenge). */
export function sendUpgradeRefusal(res: HttpResponse, reply: Reply): void {
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    if (reply.contentType) res.writeHeader('content-type', reply.contentType);
    for (const [key, value] of Object.entries(reply.headers ?? {})) res.writeHeader(key, value);
    res.end(reply.body ?? '', true);
  });
}
