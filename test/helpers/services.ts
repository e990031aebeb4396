/**
 * The message bus and cache the scale-out tests use for real. Every machine the project runs on has
 * both at these addresses (`.ci/run` starts one that is not answering), so the tests never skip:
 * a missing service fails them. The env vars point them elsewhere.
 */
import { randomBytes } from 'node:crypto';

export const NATS_URL = process.env.SIGHTLINE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const REDIS_URL = process.env.SIGHTLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A name no other test (or earlier run) uses: NATS subjects and Redis key prefixes are shared by every test on the machine. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}
