import type { ModelVersion } from '../../engine/model-version.js';
import type { ModelRepository } from '../../engine/repository.js';
import { protocolError } from './protocol-error.js';

/** What a protocol path names: a model's serving version, or a pipeline (which takes encoded images only). */
export type Target = { kind: 'model'; name: string; version: ModelVersion } | { kind: 'pipeline'; name: string; version: number };

/** The pipeline's names for its image input and answer output: those a model uses by default. */
export const PIPELINE_NAMES = { imageInput: 'image', answerOutput: 'answer' } as const;

/**
 * The model or pipeline behind a path, serving now: 404 for a name not in the repository or a
 * version that does not serve, 503 (with Retry-After) while it loads, after it failed or once it
 * is unloaded. Versions are sightline's loads of the model: only the one serving can be asked for.
 */
export function servingTarget(repo: ModelRepository, name: string, version: string | undefined): Target {
  const status = repo.status(name);
  if (status === undefined) throw protocolError(404, `model '${name}' is not in the repository`);
  const check = (serving: number) => {
    if (version !== undefined && version !== String(serving))
      throw protocolError(404, `model '${name}' has no version '${version}' serving; version ${serving} serves`);
  };
  if (status.task === 'pipeline') {
    if (status.state !== 'ready')
      throw protocolError(503, `pipeline '${name}' is ${status.state}${status.error ? `: ${status.error}` : ''}`, status.state === 'loading' ? 1 : 5);
    check(status.version);
    return { kind: 'pipeline', name, version: status.version };
  }
  const serving = repo.serving(name);
  check(serving.version);
  return { kind: 'model', name, version: serving };
}
