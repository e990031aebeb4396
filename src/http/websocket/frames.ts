import { z } from 'zod';
import { CloseCode } from '../../hub/close-codes.js';
import { EventName } from '../../hub/events.js';
import { MAX_TOPICS_PER_SOCKET } from '../../hub/topics.js';
import { detection } from '../schemas/detections.js';
import { jobView } from '../schemas/jobs.js';
import { modelStatus } from '../schemas/models.js';
import { predictAnswer } from '../schemas/predict.js';

/**
 * The frames of the two WebSocket routes. The hub parses frames itself (they never pass through
 * the HTTP router); these schemas describe them in the OpenAPI document.
 */

const topic = z.string().describe('detections, detections/{cameraId}, jobs, jobs/{id} or models');

const subscription = (type: 'subscribe' | 'unsubscribe') =>
  z.union([
    z.strictObject({ type: z.literal(type), topic }),
    z.strictObject({ type: z.literal(type), topics: z.array(topic).min(1).max(64) }),
  ]);

export const subscriberClientFrame = z
  .union([subscription('subscribe'), subscription('unsubscribe'), z.strictObject({ type: z.literal('ping') })])
  .meta({ id: 'SubscriberClientFrame', description: `JSON text frames a client sends on /v1/ws; at most ${MAX_TOPICS_PER_SOCKET} topics per connection.` });


export const subscriberServerFrame = z
  .union([
    z.strictObject({ type: z.enum(['subscribed', 'unsubscribed']), topics: z.array(z.string()) }),
    z.strictObject({ type: z.literal('pong') }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.detectionCreated), data: detection }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.jobUpdated), data: jobView }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.jobDeleted), data: z.strictObject({ id: z.uuid() }) }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.modelState), data: modelStatus }),
    z
      .strictObject({
        type: z.literal('error'),
        code: z.enum(['bad_json', 'bad_message', 'unknown_topic', 'too_many_topics', 'binary_not_supported']),
        message: z.string(),
      })
      .describe('a frame that cannot be honoured; the connection stays open'),
  ])
  .meta({ id: 'SubscriberServerFrame', description: 'JSON text frames the server sends on /v1/ws.' });

const requestId = z.union([z.string().min(1).max(128), z.number()]).describe("the header frame's id, or the image's sequence number on the connection (1, 2, …)");

export const predictClientFrame = z
  .union([
    z.strictObject({ id: z.union([z.string().min(1).max(128), z.number()]) }).describe('optional text frame before an image: names its answer'),
    z.file().describe('a binary frame: one image'),
  ])
  .meta({ id: 'PredictClientFrame', description: 'Frames a client sends on /v1/ws/predict/{model}.' });

export const predictServerFrame = z
  .union([
    z.strictObject({ type: z.literal('result'), id: requestId, result: predictAnswer }),
    z
      .strictObject({
        type: z.literal('error'),
        id: requestId.optional().describe('absent when a header frame itself was refused'),
        code: z.string().describe('bad_json, bad_message, overloaded, shutting_down, or any error code of POST /v1/models/{name}/predict'),
        message: z.string(),
      })
      .describe('an image or header frame that could not be answered'),
  ])
  .meta({ id: 'PredictServerFrame', description: 'JSON text frames the server sends on /v1/ws/predict/{model}; answers may arrive out of order.' });

export const CLOSE_CODES: Readonly<Record<number, string>> = {
  [CloseCode.goingAway]: 'the server is shutting down',
  [CloseCode.messageTooBig]: 'a frame over the size limit',
  [CloseCode.slowConsumer]: 'slow consumer: more than the backpressure limit queued for the client',
};
