import { type SightlineError, unprocessableImage } from '../errors.js';

/**
 * A libvips failure as the 422 a client sees: what could not be done, then the first line of
 * libvips' message, at most 200 characters (later lines are its internal trace).
 */
export function decoderFailure(what: string, err: unknown): SightlineError {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
  return unprocessableImage(`could not ${what}: ${message}`);
}
