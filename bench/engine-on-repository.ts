import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTarget } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The engine target (bench/engine-target.ts) serving the model repository `repo`, which is also its
 * data directory; `calibrate` says whether the models calibrate at load (the server's default) or
 * keep the batching their manifests write.
 */
export function startEngineOnRepository(repo: string, calibrate: boolean): ReturnType<typeof startTarget> {
  return startTarget(path.join(here, 'engine-target.js'), [], {
    SIGHTLINE_MODELS_DIR: repo,
    SIGHTLINE_DATA_DIR: repo,
    SIGHTLINE_CALIBRATE: calibrate ? 'true' : 'false',
  });
}
