import { badRequest, SightlineError } from '../../errors.js';
import { errorReply } from '../error-reply.js';
import type { Reply } from '../reply.js';

/** The only WebSocket version there is (RFC 6455 §4.1); a 426 for another names it. */
const WEBSOCKET_VERSION = '13';
/** 22 base64 characters and the padding of 16 bytes. */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

const tokens = (value: string) => value.split(',').map((t) => t.trim().toLowerCase());

/**
 * The answer to a GET on a WebSocket path that is not a WebSocket handshake: 426 naming the
 * protocol to upgrade to (RFC 9110 §15.5.22). An `Upgrade` to anything else is ignored, as a
 * server may (RFC 9110 §7.8), which leaves a plain request.
 */
export function upgradeRequired(): Reply {
  const reply = errorReply(new SightlineError(426, 'upgrade_required', 'this path speaks WebSocket; connect with a WebSocket client'));
  reply.headers = { ...reply.headers, upgrade: 'websocket' };
  return reply;
}

/**
 * Why an opening handshake cannot be accepted (RFC 6455 §4.2.1–4.2.2), or undefined when it can.
 * uWS switches protocols for any request with a 24-character Sec-WebSocket-Key and checks
 * nothing else, so the routes ask this first.
 */
export function handshakeRefusal(header: (name: string) => string | undefined): Reply | undefined {
  if (!tokens(header('upgrade') ?? '').includes('websocket')) return upgradeRequired();
  if (!tokens(header('connection') ?? '').includes('upgrade')) {
    return errorReply(badRequest('a WebSocket handshake needs "Connection: Upgrade"'));
  }
  if ((header('sec-websocket-version') ?? '').trim() !== WEBSOCKET_VERSION) {
    const reply = errorReply(
      new SightlineError(
        426,
        'upgrade_required',
        `this server speaks WebSocket version ${WEBSOCKET_VERSION} only; send "Sec-WebSocket-Version: ${WEBSOCKET_VERSION}"`,
      ),
    );
    reply.headers = { ...reply.headers, upgrade: 'websocket', 'sec-websocket-version': WEBSOCKET_VERSION };
    return reply;
  }
  if (!KEY.test((header('sec-websocket-key') ?? '').trim())) {
    return errorReply(badRequest('Sec-WebSocket-Key must be the base64 encoding of 16 bytes'));
  }
  return undefined;
}
