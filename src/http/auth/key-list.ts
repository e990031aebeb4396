import { ConfigError } from '../../config.js';
import { digestOf, type ApiKey } from './key-ring.js';
import { isScope, SCOPES, type Scope } from './scopes.js';

const MIN_KEY_LENGTH = 8;
// Keys travel in headers and URLs: visible ASCII only, and not the list's own separators.
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Keys from `SIGHTLINE_API_KEYS`: `key` (every scope) or `key:scope+scope`. Errors name the entry
 * by position, never by its text, so a typo does not print a secret.
 */
export function keysFromList(specs: readonly string[], source = 'SIGHTLINE_API_KEYS'): ApiKey[] {
  return specs.map((spec, i) => {
    const where = `${source}: entry ${i + 1}`;
    const colon = spec.indexOf(':');
    const key = colon === -1 ? spec : spec.slice(0, colon);
    if (key.length < MIN_KEY_LENGTH) throw new ConfigError(`${where}: a key must be at least ${MIN_KEY_LENGTH} characters`);
    if (!KEY_PATTERN.test(key)) throw new ConfigError(`${where}: a key may hold only visible ASCII characters other than "," and ":"`);
    let scopes: Scope[] = [...SCOPES];
    if (colon !== -1) {
      const names = spec.slice(colon + 1).split('+');
      for (const name of names) {
        if (!isScope(name)) throw new ConfigError(`${where}: unknown scope ${JSON.stringify(name)}; expected ${SCOPES.join(', ')} joined with +`);
      }
      scopes = names as Scope[];
    }
    return { name: `env-${i + 1}`, digest: digestOf(key), scopes: new Set(scopes) };
  });
}
