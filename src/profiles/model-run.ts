import { predict, type Prediction } from '../engine/predictor.js';
import type { RequestContext } from '../http/request-context.js';
import type { ProfileContext } from './profile.js';

/**
 * One image through the profile's model, as POST /v1/models/{name}/predict runs it: the same
 * batch scheduler, limits and priority, dropped from the queue if the client leaves.
 */
export function runModel(profile: ProfileContext, rc: RequestContext | undefined, bytes: Uint8Array, priority: 'high' | 'low' = 'high'): Promise<Prediction> {
  const { config, models, model } = profile;
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  return predict(models, model!, bytes, {
    // Read when the image is queued: a request refused before then never makes a signal.
    get signal() {
      return rc?.signal;
    },
    priority,
    limits,
  });
}
