import type { Config } from '../../config.js';
import { ConfigError } from '../../config.js';
import { keysFromList } from './key-list.js';
import { KeyRing } from './key-ring.js';
import { keysFromFile } from './keys-file.js';

/** The keys of SIGHTLINE_API_KEYS and SIGHTLINE_API_KEYS_FILE together. */
export function configuredKeys(config: Pick<Config, 'apiKeys' | 'apiKeysFile'>): KeyRing {
  const keys = [...keysFromList(config.apiKeys), ...(config.apiKeysFile !== undefined ? keysFromFile(config.apiKeysFile) : [])];
  try {
    return new KeyRing(keys);
  } catch (err) {
    throw new ConfigError(`API keys: ${(err as Error).message}`);
  }
}
