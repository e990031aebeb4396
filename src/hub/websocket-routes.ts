import { z } from 'zod';
import { SightlineError } from '../errors.js';
import { errorReply } from '../http/error-reply.js';
import type { Reply } from '../http/reply.js';
import type { Route } from '../http/router.js';
import { CLOSE_CODES, predictClientFrame, predictServerFrame, subscriberClientFrame, subscriberServerFrame } from '../http/schemas/websocket.js';
import type { TemplatedApp } from '../http/uws.js';
import type { Hub } from './hub.js';
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

function upgradeRequired(): Reply {
  const reply = errorReply(new SightlineError(426, 'upgrade_required', 'this path speaks WebSocket; connect with a WebSocket client'));
  reply.headers = { ...reply.headers, upgrade: 'websocket' };
  return reply;
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
      handler: upgradeRequired,
      schema: {
        operationId: 'subscribeEvents',
        summary: 'WebSocket: subscribe to detection, job and model events',
        description:
          'Send JSON text frames `{"type":"subscribe","topic":"detections/gate-1"}` (or `topics: [...]`), `unsubscribe`, `ping`; receive `subscribed`, `unsubscribed`, `pong` and `event` frames (`x-websocket` has every frame). ' +
          'Topics: `detections`, `detections/{cameraId}`, `jobs`, `jobs/{id}`, `models`. A frame that cannot be honoured gets an `error` frame and the connection stays open.',
        tags: ['WebSocket'],
        headers: UPGRADE_HEADERS,
        responses: { 101: { description: 'switching to the WebSocket protocol' } },
        errors: { 426: 'a plain HTTP request (no WebSocket upgrade)', 503: 'the server is shutting down' },
        websocket: { client: subscriberClientFrame, server: subscriberServerFrame, closeCodes: CLOSE_CODES },
      },
    },
    {
      method: 'GET',
      path: PREDICT_PATH,
      handler: upgradeRequired,
      schema: {
        operationId: 'predictOverWebSocket',
        summary: 'WebSocket: predict, one binary frame per image',
        description:
          'Each binary frame is one image; a text frame `{"id":"r1"}` before it names its answer (otherwise the id is the image\'s sequence number on the connection). ' +
          'Each answer is a text frame `{"type":"result","id","result"}` or `{"type":"error","id","code","message"}`; answers may arrive out of order. Images share the model\'s batch scheduler with HTTP requests.',
        tags: ['WebSocket'],
        params: z.object({ model: z.string().describe('the model to run') }),
        headers: UPGRADE_HEADERS,
        responses: { 101: { description: 'switching to the WebSocket protocol' } },
        errors: {
          400: 'the model name is not valid URL encoding',
          404: 'no model by this name (answered instead of the upgrade)',
          426: 'a plain HTTP request (no WebSocket upgrade)',
          503: 'the model is not ready, or the server is shutting down',
        },
        websocket: { client: predictClientFrame, server: predictServerFrame, closeCodes: CLOSE_CODES },
      },
    },
  ];
}
