import { z } from 'zod';
import { CloseCode } from '../../hub/close-codes.js';
import { EventName } from '../../hub/events.js';
import { MAX_TOPICS_PER_SOCKET } from '../../hub/topics.js';
import { detection } from '../schemas/detections.js';
import { evaluationSummaryView } from '../schemas/evaluations.js';
import { jobView } from '../schemas/jobs.js';
import { modelStatus } from '../schemas/models.js';
import { predictAnswer } from '../schemas/predict.js';

/**
 * The frames of the two WebSocket routes. Frames never pass through the HTTP router: the routes
 * parse client frames with these schemas (frame-parser.ts), and the OpenAPI document describes
 * both sides with them. Rules are worded to follow the field they check ("topics[1] contains a
 * lone UTF-16 surrogate"); rules of the whole frame speak for themselves.
 */

/** With the `u` flag a paired surrogate reads as one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * JSON.parse turns "\ud800" into a string no UTF-8 frame can carry back: a topic or id holding one
 * is refused rather than subscribed or echoed as another name.
 */
const echoable = (value: string | number) => typeof value !== 'string' || !LONE_SURROGATE.test(value);
const ECHOABLE_RULE = 'contains a lone UTF-16 surrogate (not a Unicode character)';

const unknownField = (what: string) => (issue: z.core.$ZodRawIssue) =>
  issue.code === 'unrecognized_keys' ? `unknown ${what} ${JSON.stringify(issue.keys[0])}` : undefined;

const topic = z
  .string({ error: 'must be a string' })
  .refine(echoable, ECHOABLE_RULE)
  .describe('detections, detections/{cameraId}, jobs, jobs/{id}, models, evaluations or evaluations/{id}');

/** A frame names at most as many topics as a connection may hold. */
function subscription<T extends 'subscribe' | 'unsubscribe'>(type: T) {
  const needs = `${type} needs "topic" (a string) or "topics" (1 to ${MAX_TOPICS_PER_SOCKET} strings)`;
  const listRule = `must be 1 to ${MAX_TOPICS_PER_SOCKET} topic names`;
  return z
    .strictObject(
      {
        type: z.literal(type),
        topic: topic.optional(),
        topics: z.array(topic, { error: listRule }).min(1, { error: listRule }).max(MAX_TOPICS_PER_SOCKET, { error: listRule }).optional(),
      },
      { error: unknownField('field') },
    )
    .superRefine((frame, ctx) => {
      if (frame.topic !== undefined && frame.topics !== undefined) ctx.addIssue({ code: 'custom', message: 'send either "topic" or "topics", not both' });
      else if (frame.topic === undefined && frame.topics === undefined) ctx.addIssue({ code: 'custom', message: needs });
    })
    .transform((frame) => ({ type, topics: frame.topics ?? [frame.topic!] }))
    .meta({ oneOf: [{ required: ['topic'] }, { required: ['topics'] }] });
}

const ping = z.strictObject({ type: z.literal('ping') }, { error: unknownField('field') });

function frameRule(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_union') return 'must be "subscribe", "unsubscribe" or "ping"';
  return issue.code === 'invalid_type' ? 'expected a JSON object with "type"' : undefined;
}

/** Read as `{type, topics}`: one topic or several, the same request. */
export const subscriberClientFrame = z.discriminatedUnion('type', [subscription('subscribe'), subscription('unsubscribe'), ping], { error: frameRule }).meta({
  id: 'SubscriberClientFrame',
  description: `JSON text frames a client sends on /v1/ws: \`topic\` or \`topics\`, not both; at most ${MAX_TOPICS_PER_SOCKET} topics per connection.`,
});

export type SubscriberClientFrame = z.output<typeof subscriberClientFrame>;

export const subscriberServerFrame = z
  .union([
    z.strictObject({ type: z.enum(['subscribed', 'unsubscribed']), topics: z.array(z.string()) }),
    z.strictObject({ type: z.literal('pong') }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.detectionCreated), data: detection }),
    z.strictObject({
      type: z.literal('event'),
      topic: z.string(),
      event: z.literal(EventName.detectionDeleted),
      data: z.strictObject({ id: z.string(), cameraId: z.string() }).describe('the deleted detection'),
    }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.jobUpdated), data: jobView }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.jobDeleted), data: z.strictObject({ id: z.uuid() }) }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.modelState), data: modelStatus }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.evaluationUpdated), data: evaluationSummaryView }),
    z.strictObject({
      type: z.literal('event'),
      topic: z.string(),
      event: z.literal(EventName.evaluationProgress),
      data: z.strictObject({ id: z.uuid(), done: z.int(), total: z.int(), problems: z.int() }).describe('images done so far, a few times a second'),
    }),
    z.strictObject({ type: z.literal('event'), topic: z.string(), event: z.literal(EventName.evaluationDeleted), data: z.strictObject({ id: z.uuid() }) }),
    z
      .strictObject({
        type: z.literal('error'),
        code: z.enum(['bad_json', 'bad_message', 'unknown_topic', 'too_many_topics', 'binary_not_supported']),
        message: z.string(),
      })
      .describe('a frame that cannot be honoured; the connection stays open'),
  ])
  .meta({ id: 'SubscriberServerFrame', description: 'JSON text frames the server sends on /v1/ws.' });

const MAX_ID_LENGTH = 128;
const idRule = `must be a string of 1 to ${MAX_ID_LENGTH} characters or a number`;
const frameId = z
  .union([z.string().min(1, { error: idRule }).max(MAX_ID_LENGTH, { error: idRule }), z.number()], { error: idRule })
  .refine(echoable, ECHOABLE_RULE);

const requestId = frameId.describe("the header frame's id, or the image's sequence number on the connection (1, 2, …)");

/** The optional text frame before an image. */
export const predictHeaderFrame = z
  .strictObject(
    { id: frameId },
    { error: (issue) => (issue.code === 'invalid_type' ? 'a header frame is a JSON object like {"id":"r1"}' : unknownField('header field')(issue)) },
  )
  .describe('optional text frame before an image: names its answer');

export type PredictHeaderFrame = z.output<typeof predictHeaderFrame>;

export const predictClientFrame = z
  .union([predictHeaderFrame, z.file().describe('a binary frame: one image')])
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
