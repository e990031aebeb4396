import { SightlineError } from '../../errors.js';
import { errorReply } from '../error-reply.js';
import { constantJson } from '../reply.js';
import type { Route } from '../router.js';
import { liveAnswer, pingAnswer, readyAnswer } from '../schemas/health.js';

export interface Readiness {
  /** Reasons the server is not ready; empty when it is. */
  notReadyReasons(): string[];
}

const LIVE = constantJson({ status: 'live' });
const READY = constantJson({ status: 'ready' });
const PING = constantJson({ message: 'Server is alive!', status: 'ok' });

export function healthRoutes(readiness: Readiness): Route[] {
  return [
    {
      method: 'GET',
      path: '/health/live',
      handler: () => LIVE,
      schema: {
        operationId: 'getLiveness',
        summary: 'The process is up',
        tags: ['Health'],
        responses: { 200: { description: 'alive', json: liveAnswer } },
      },
    },
    {
      method: 'GET',
      path: '/health/ready',
      handler: () => {
        const reasons = readiness.notReadyReasons();
        if (reasons.length === 0) return READY;
        const reply = errorReply(new SightlineError(503, 'not_ready', reasons.join('; '), { details: { reasons }, retryAfter: 1 }));
        return reply;
      },
      schema: {
        operationId: 'getReadiness',
        summary: 'Every configured model has loaded',
        tags: ['Health'],
        responses: { 200: { description: 'ready', json: readyAnswer } },
        errors: { 503: '`not_ready`: a model is loading or failed to load; `reasons` says which' },
      },
    },
    {
      method: 'GET',
      path: '/ping',
      handler: () => PING,
      schema: {
        operationId: 'ping',
        summary: 'The process is up (compatibility probe)',
        tags: ['Health'],
        responses: { 200: { description: 'alive', json: pingAnswer } },
      },
    },
  ];
}
