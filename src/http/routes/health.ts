import type { z } from 'zod';
import { SightlineError } from '../../errors.js';
import { errorReply } from '../error-reply.js';
import { constantJson, json } from '../reply.js';
import type { Route } from '../router.js';
import { liveAnswer, pingAnswer, readyAnswer } from '../schemas/health.js';

export interface Readiness {
  /** Reasons the server is not ready; empty when it is. */
  notReadyReasons(): string[];
  /** The event bus between replicas, when there is one: reported, not a reason to be unready (the replica still serves). */
  events?(): { bus: string; connected: boolean } | undefined;
}

const READY = constantJson({ status: 'ready' });

/** A probe that only says the process is up, with the same answer every time. */
function aliveProbe(path: string, operationId: string, summary: string, answer: object, answerSchema: z.ZodType): Route {
  const reply = constantJson(answer);
  return {
    method: 'GET',
    path,
    handler: () => reply,
    schema: { operationId, summary, tags: ['Health'], responses: { 200: { description: 'alive', json: answerSchema } } },
  };
}

export function healthRoutes(readiness: Readiness): Route[] {
  return [
    aliveProbe('/health/live', 'getLiveness', 'The process is up', { status: 'live' }, liveAnswer),
    {
      method: 'GET',
      path: '/health/ready',
      handler: () => {
        const reasons = readiness.notReadyReasons();
        const events = readiness.events?.();
        if (reasons.length === 0) return events === undefined ? READY : json({ status: 'ready', events });
        const reply = errorReply(new SightlineError(503, 'not_ready', reasons.join('; '), { details: { reasons }, retryAfter: 1 }));
        return reply;
      },
      schema: {
        operationId: 'getReadiness',
        summary: 'Every configured model has loaded',
        description:
          'With an event bus between replicas (SIGHTLINE_EVENTS_URL), `events` says whether it is connected; a replica whose bus is ' +
          'down still serves (its events stay local), so it stays ready.',
        tags: ['Health'],
        responses: { 200: { description: 'ready', json: readyAnswer } },
        errors: { 503: '`not_ready`: a model is loading or failed to load; `reasons` says which' },
      },
    },
    aliveProbe('/ping', 'ping', 'The process is up (compatibility probe)', { message: 'Server is alive!', status: 'ok' }, pingAnswer),
  ];
}
