import type { Config } from '../../../config.js';
import type { ModelRepository } from '../../../engine/repository.js';
import type { Route } from '../../router.js';
import { inferRoutes } from './infer.js';
import { modelRoutes } from './models.js';
import { repositoryRoutes } from './repository.js';
import { serverRoutes } from './server.js';
import { statisticsRoutes } from './statistics.js';

/** The Open Inference Protocol (KServe v2) over HTTP, with Triton's extensions, under /v2. */
export function openInferenceRoutes(repo: ModelRepository, config: Config): Route[] {
  return [...serverRoutes(repo), ...statisticsRoutes(repo), ...modelRoutes(repo), ...inferRoutes(repo, config), ...repositoryRoutes(repo)];
}
