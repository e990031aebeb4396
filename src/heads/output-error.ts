import { SightlineError } from '../errors.js';

/**
 * A model's outputs do not fit its head configuration (wrong shape, label count, charset size).
 * That is a server-side misconfiguration rather than bad client input, hence 500 with a message
 * that says exactly what disagrees.
 */
export function outputMismatch(task: string, message: string): SightlineError {
  return new SightlineError(500, 'model_output_mismatch', `${task} head: ${message}`);
}
