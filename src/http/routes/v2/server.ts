import type { ModelRepository } from '../../../engine/repository.js';
import { packageVersion } from '../../../package-version.js';
import { constantJson, json } from '../../reply.js';
import type { Route } from '../../router.js';
import { liveAnswer, readyAnswer, serverMetadata } from '../../schemas/open-inference.js';
import { protocolError } from '../../v2/protocol-error.js';
import { protocolRoute } from '../../v2/protocol-route.js';

/** Triton's names of the protocol extensions sightline speaks. */
export const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_configuration', 'model_repository', 'statistics'] as const;

/** Server metadata and the server's health probes. */
export function serverRoutes(repo: ModelRepository): Route[] {
  const metadata = constantJson({ name: 'sightline', version: packageVersion(), extensions: EXTENSIONS });
  return [
    protocolRoute({
      method: 'GET',
      path: '/v2',
      handler: () => metadata,
      schema: {
        operationId: 'getServerMetadata',
        summary: 'Server metadata: name, version and the extensions supported',
        responses: { 200: { description: 'the server', json: serverMetadata } },
      },
    }),
    protocolRoute({
      method: 'GET',
      path: '/v2/health/live',
      handler: () => json({ live: true }),
      schema: {
        operationId: 'getServerLive',
        summary: 'The server can answer (Kubernetes livenessProbe)',
        responses: { 200: { description: 'live', json: liveAnswer } },
      },
    }),
    protocolRoute({
      method: 'GET',
      path: '/v2/health/ready',
      handler: () => {
        const reasons = repo.notReadyReasons();
        if (reasons.length > 0) throw protocolError(503, reasons.join('; '), 1);
        return json({ ready: true });
      },
      schema: {
        operationId: 'getServerReady',
        summary: 'Every model of the repository is ready (Kubernetes readinessProbe)',
        responses: { 200: { description: 'ready', json: readyAnswer } },
        errors: { 503: 'a model is loading or failed to load; the message says which' },
      },
    }),
  ];
}
