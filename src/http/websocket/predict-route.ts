import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { WebSocketBehavior } from 'uWebSockets.js';
import { errorBody, SightlineError } from '../../errors.js';
import { predictionAnswer } from '../../engine/prediction-answer.js';
import { predict } from '../../engine/predictor.js';
import type { ModelRepository } from '../../engine/repository.js';
import type { ImageLimits } from '../../imaging/index.js';
import type { Logger } from '../../logger.js';
import { CloseCode } from '../../hub/close-codes.js';
import type { Hub, HubSocket } from '../../hub/hub.js';
import { parseFrame } from './frame-parser.js';
import { predictHeaderFrame, type PredictHeaderFrame } from './frames.js';
import { textOfFrame } from './text-frame.js';
import { refusedByHub } from './hub-socket.js';
import { acceptUpgrade, refuseUpgrade } from './upgrade.js';
import { transportLimits, type WebSocketLimits } from './transport-limits.js';

export interface PredictSocketOptions {
  hub: Hub;
  repo: ModelRepository;
  logger: Logger;
  limits: WebSocketLimits;
  image: ImageLimits & { maxInputBytes: number };
  /** Images one socket may have in flight. */
  maxInFlight: number;
  /** Bytes of images one socket may have in flight (the server-wide budget is the hub's). */
  maxInFlightBytes?: number;
}

type RequestId = PredictHeaderFrame['id'];

interface Session {
  model: string;
  /** Id from a header frame, for the next image. */
  nextId: RequestId | undefined;
  /** Images received so far: the id of an image sent without a header. */
  images: number;
  inFlight: number;
  /** Bytes of the images in flight. */
  bytes: number;
  /** Aborted at close, which takes queued images out of the batcher. */
  readonly controller: AbortController;
}

const errorFrame = (id: RequestId | undefined, code: string, message: string) =>
  JSON.stringify(id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });

/**
 * /v1/ws/predict/{model}: each binary frame is an image, optionally preceded by a text frame
 * `{"id": ...}`; each answer is a text frame `{"type":"result","id","result"}` (the predict
 * answer) or `{"type":"error","id","code","message"}`. Images go through the model's batcher
 * at high priority beside HTTP requests. Answers may arrive out of order; the id says which.
 */
export function predictRoute(options: PredictSocketOptions): WebSocketBehavior<{ model: string }> {
  const { hub, repo, logger, limits } = options;
  const sessions = new Map<HubSocket, Session>();

  const maxSocketBytes = options.maxInFlightBytes ?? Number.POSITIVE_INFINITY;

  /** Runs one image whose bytes the session and the hub have reserved; both get them back when it settles. */
  function runImage(ws: HubSocket, session: Session, id: RequestId, bytes: Buffer): void {
    const started = performance.now();
    const size = bytes.byteLength;
    session.inFlight++;
    session.bytes += size;
    hub.beginWork();
    predict(repo, session.model, bytes, { signal: session.controller.signal, priority: 'high', limits: options.image })
      .then(
        (p) => {
          const result = predictionAnswer(session.model, p, performance.now() - started);
          hub.send(ws, JSON.stringify({ type: 'result', id, result }));
        },
        (err: unknown) => {
          if (session.controller.signal.aborted) return; // the socket is gone
          if (!(err instanceof SightlineError)) logger.error({ err, model: session.model }, 'WebSocket predict failed');
          const e = errorBody(err);
          hub.send(ws, errorFrame(id, e.code, e.message));
        },
      )
      .finally(() => {
        session.inFlight--;
        session.bytes -= size;
        hub.releaseBytes(size);
        hub.endWork();
      });
  }

  return {
    ...transportLimits(limits, options.image.maxInputBytes),
    upgrade: (res, req, context) => {
      if (refusedByHub(hub, res, req)) return;
      let model: string;
      try {
        model = decodeURIComponent(req.getParameter(0));
        repo.assertServing(model); // unknown (404) or not ready (503): refuse before switching protocols
      } catch (err) {
        return refuseUpgrade(res, req, err instanceof URIError ? new SightlineError(400, 'bad_request', 'model name is not valid URL encoding') : err);
      }
      acceptUpgrade(res, req, context, { model });
    },
    open: (raw) => {
      const ws = raw as unknown as HubSocket;
      hub.opened(ws);
      const controller = new AbortController();
      // Every image in flight listens on the session's signal; up to maxInFlight of them is expected.
      setMaxListeners(options.maxInFlight + 10, controller.signal);
      sessions.set(ws, { model: raw.getUserData().model, nextId: undefined, images: 0, inFlight: 0, bytes: 0, controller });
    },
    message: (raw, data, isBinary) => {
      const ws = raw as unknown as HubSocket;
      const session = sessions.get(ws);
      if (session === undefined) return;
      if (!isBinary) {
        if (data.byteLength > limits.maxPayloadBytes) {
          return hub.end(ws, CloseCode.messageTooBig, `header frame of ${data.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes}`);
        }
        const text = textOfFrame(data);
        if (text === undefined) return hub.end(ws, CloseCode.invalidPayload, 'header frame is not valid UTF-8');
        const header = parseFrame(predictHeaderFrame, text, 'header frame');
        if (!header.ok) {
          hub.send(ws, errorFrame(undefined, header.error.code, header.error.message));
          return;
        }
        if (session.nextId !== undefined) {
          hub.send(ws, errorFrame(session.nextId, 'bad_message', 'header frame was not followed by an image; its id is replaced by the next header'));
        }
        session.nextId = header.value.id;
        return;
      }
      session.images++;
      const id = session.nextId ?? session.images;
      session.nextId = undefined;
      if (data.byteLength > options.image.maxInputBytes) {
        return hub.end(ws, CloseCode.messageTooBig, `image of ${data.byteLength} bytes exceeds the limit of ${options.image.maxInputBytes}`);
      }
      if (!hub.isAccepting) {
        hub.send(ws, errorFrame(id, 'shutting_down', 'server is shutting down'));
        return;
      }
      if (session.inFlight >= options.maxInFlight) {
        hub.send(ws, errorFrame(id, 'overloaded', `at most ${options.maxInFlight} images in flight per connection; wait for answers`));
        return;
      }
      // Refused frames are answered before anything is copied: uWS reuses their memory, so nothing
      // of them stays. An image alone always fits, as its size has a limit of its own.
      const size = data.byteLength;
      if (session.bytes > 0 && session.bytes + size > maxSocketBytes) {
        hub.send(ws, errorFrame(id, 'overloaded', `at most ${maxSocketBytes} bytes of images in flight per connection; wait for answers`));
        return;
      }
      if (!hub.reserveBytes(size)) {
        hub.send(
          ws,
          errorFrame(id, 'overloaded', `the server holds its limit of ${hub.maxInFlightBytes} bytes of images in flight; retry once answers arrive`),
        );
        return;
      }
      // The frame's memory is reused once this handler returns: copy it.
      runImage(ws, session, id, Buffer.from(new Uint8Array(data)));
    },
    close: (raw, code, reason) => {
      const ws = raw as unknown as HubSocket;
      sessions.get(ws)?.controller.abort();
      sessions.delete(ws);
      hub.closed(ws, code, reason);
    },
  };
}
