import { z } from 'zod';
import type { Reply } from '../reply.js';
import type { RequestContext } from '../request-context.js';
import type { Route } from '../router.js';
import { CLOSE_CODES, predictClientFrame, predictServerFrame, subscriberClientFrame, subscriberServerFrame } from './frames.js';
import type { TemplatedApp } from '../uws.js';
import { handshakeRefusal, upgradeRequired } from './handshake.js';
import type { Hub } from '../../hub/hub.js';
import { predictRoute, type PredictSocketOptions } from './predict-route.js';
import { subscriberRoute } from './subscriber-route.js';

export const SUBSCRIBE_PATH = '/v1/ws';
export const PREDICT_PATH = '/v1/ws/predict/:model';

/** Registers the WebSocket routes on the uWS app (before the HTTP catch-all) and binds the hub to it. */
export function registerWebSocketRoutes(app: TemplatedApp, hub: Hub, predict: Omit<PredictSocketOptions, 'hub'>): void {
  hub.attach(app);
  app.ws(SUBSCRIBE_PATH, subscriberRoute(hub, predict.limits));
  app.ws(PREDICT_PATH, predictRoute({ hub, ...predict }));
}

/**
 * The HTTP side of a WebSocket path: a plain GET, or a handshake uWS did not take because its
 * Sec-WebSocket-Key is not 24 characters long (missing or malformed), answered as RFC 6455 says.
 */
function notUpgraded(ctx: RequestContext): Reply {
  return handshakeRefusal((name) => ctx.headers[name]) ?? upgradeRequired();
}

const UPGRADE_HEADERS = z.object({
  Upgrade: z.literal('websocket').describe('with `Connection: Upgrade` and the WebSocket handshake headers'),
});

/**
 * A plain HTTP request to a WebSocket path gets 426 rather than "no route". These routes also
 * carry the description of each socket's protocol.
 */
export function upgradeRequiredRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: SUBSCRIBE_PATH,
      handler: notUpgraded,
      schema: {
        operationId: 'subscribeEvents',
        summary: 'WebSocket: subscribe to detection, job and model events',
        description:
          'Send JSON text frames `{"type":"subscribe","topic":"detections/gate-1"}` (or `topics: [...]`), `unsubscribe`, `ping`; receive ' +
          '`subscribed`, `unsubscribed`, `pong` and `event` frames (`x-websocket` has every frame). ' +
          'Topics: `detections`, `detections/{cameraId}`, `jobs`, `jobs/{id}`, `models`, `evaluations`, `evaluations/{id}`. A frame that ' +
          'cannot be honoured gets an `error` frame and the connection stays open.',
        tags: ['WebSocket'],
        headers: UPGRADE_HEADERS,
        responses: { 101: { description: 'switching to the WebSocket protocol' } },
        errors: {
          400: 'a malformed handshake: no `Connection: Upgrade`, or a Sec-WebSocket-Key that is not the base64 of 16 bytes',
          426: 'a plain HTTP request (no `Upgrade: websocket`), or a Sec-WebSocket-Version other than 13 (the answer names 13)',
          503: 'the server is shutting down',
        },
        websocket: { client: subscriberClientFrame, server: subscriberServerFrame, closeCodes: CLOSE_CODES },
      },
    },
    {
      method: 'GET',
      path: PREDICT_PATH,
      handler: notUpgraded,
      schema: {
        operationId: 'predictOverWebSocket',
        summary: 'WebSocket: predict, one binary frame per image',
        description:
          'Each binary frame is one image; a text frame `{"id":"r1"}` before it names its answer (otherwise the id is the image\'s sequence ' +
          'number on the connection). ' +
          'Each answer is a text frame `{"type":"result","id","result"}` or `{"type":"error","id","code","message"}`; answers may arrive ' +
          "out of order. Images share the model's batch scheduler with HTTP requests.",
        tags: ['WebSocket'],
        params: z.object({ model: z.string().describe('the model to run') }),
        headers: UPGRADE_HEADERS,
        responses: { 101: { description: 'switching to the WebSocket protocol' } },
        errors: {
          400: 'the model name is not valid URL encoding, or a malformed handshake (as on /v1/ws)',
          404: 'no model by this name (answered instead of the upgrade)',
          426: 'a plain HTTP request (no `Upgrade: websocket`), or a Sec-WebSocket-Version other than 13 (the answer names 13)',
          503: 'the model is not ready, or the server is shutting down',
        },
        websocket: { client: predictClientFrame, server: predictServerFrame, closeCodes: CLOSE_CODES },
      },
    },
  ];
}
