import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { loadManifest, type ModelSpec } from '../engine/manifest.js';
import { isPipelineManifest, PIPELINE_TASK } from '../pipelines/manifest.js';
import type { ModelNeed } from './profile.js';

const article = (task: string) => (/^[aeiou]/.test(task) ? 'an' : 'a');
const tasksInWords = (tasks: readonly string[]) => tasks.map((t) => `${article(t)} ${t}`).join(' or ');

/**
 * The manifest of the model a profile runs, checked at start: present in the repository, loaded by
 * this server, readable, and of a task (and shape) the profile can answer from. Anything else
 * stops the start with a message naming the profile, the model and what is wrong.
 */
export function checkProfileModel(config: Config, profile: string, model: string, need: ModelNeed): ModelSpec | undefined {
  const refuse = (why: string): never => {
    throw new ConfigError(`profile ${profile} needs ${tasksInWords(need.tasks)} model "${model}", but ${why}`);
  };
  if (config.models.length > 0 && !config.models.includes(model)) refuse(`SIGHTLINE_MODELS (${config.models.join(', ')}) does not load it`);
  const dir = path.join(config.modelsDir, model);
  if (!existsSync(path.join(dir, 'model.json'))) refuse(`the repository has no ${path.join(dir, 'model.json')}`);
  if (isPipelineManifest(dir)) {
    if (!need.tasks.includes(PIPELINE_TASK)) refuse(`"${model}" is a pipeline`);
    return undefined;
  }
  let spec: ModelSpec;
  try {
    spec = loadManifest(dir);
  } catch (err) {
    return refuse(`its manifest does not load: ${(err as Error).message}`);
  }
  if (!need.tasks.includes(spec.task)) refuse(`"${model}" is ${article(spec.task)} ${spec.task} model (${spec.manifestPath})`);
  const problem = need.check?.(spec);
  if (problem !== undefined) refuse(`${problem} (${spec.manifestPath})`);
  return spec;
}
