import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config.js';
import type { RateLimitSpec } from '../limits/rate-limiter.js';
import { defaultBurst } from '../limits/token-bucket.js';
import type { ApiKey } from './key-ring.js';
import { isScope, SCOPES, type Scope } from './scopes.js';

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const ENTRY_FIELDS = new Set(['name', 'sha256', 'scopes', 'rateLimit']);
const RATE_FIELDS = new Set(['rps', 'burst']);

/**
 * Keys from a JSON file of hashes: `[{"name","sha256","scopes",["rateLimit":{"rps","burst"}]}]`.
 * `sha256` is the hex digest of the key (e.g. `printf %s "$KEY" | sha256sum`). Errors name the
 * file and the entry.
 */
export function keysFromFile(file: string): ApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`SIGHTLINE_API_KEYS_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`${file}: expected a JSON array of keys`);
  return parsed.map((entry, i) => parseEntry(entry, `${file}: [${i}]`));
}

function parseEntry(entry: unknown, where: string): ApiKey {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigError(`${where}: expected an object with name, sha256 and scopes`);
  const e = entry as Record<string, unknown>;
  const extra = Object.keys(e).find((k) => !ENTRY_FIELDS.has(k));
  if (extra !== undefined) throw new ConfigError(`${where}: unknown field ${JSON.stringify(extra)}`);
  if (typeof e.name !== 'string' || !NAME_PATTERN.test(e.name)) {
    throw new ConfigError(`${where}.name: expected 1 to 64 letters, digits, ".", "_" or "-"`);
  }
  const at = `${where} (${e.name})`;
  if (typeof e.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.sha256)) {
    throw new ConfigError(`${at}.sha256: expected the 64 hex digits of the key's SHA-256`);
  }
  if (!Array.isArray(e.scopes) || e.scopes.length === 0) throw new ConfigError(`${at}.scopes: expected a non-empty array of ${SCOPES.join(', ')}`);
  e.scopes.forEach((s, j) => {
    if (!isScope(s)) throw new ConfigError(`${at}.scopes[${j}]: unknown scope ${JSON.stringify(s)}; expected one of ${SCOPES.join(', ')}`);
  });
  const key: { name: string; digest: Buffer; scopes: Set<Scope>; rateLimit?: RateLimitSpec } = {
    name: e.name,
    digest: Buffer.from(e.sha256, 'hex'),
    scopes: new Set(e.scopes as Scope[]),
  };
  if (e.rateLimit !== undefined) key.rateLimit = parseRateLimit(e.rateLimit, `${at}.rateLimit`);
  return key;
}

function parseRateLimit(value: unknown, where: string): RateLimitSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where}: expected {"rps": n, "burst": n}`);
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).find((k) => !RATE_FIELDS.has(k));
  if (extra !== undefined) throw new ConfigError(`${where}: unknown field ${JSON.stringify(extra)}`);
  if (typeof v.rps !== 'number' || !Number.isFinite(v.rps) || v.rps < 0) throw new ConfigError(`${where}.rps: expected a number of 0 or more (0: unlimited)`);
  if (v.burst !== undefined && (typeof v.burst !== 'number' || !Number.isSafeInteger(v.burst) || v.burst < 1)) {
    throw new ConfigError(`${where}.burst: expected an integer of 1 or more`);
  }
  return { rps: v.rps, burst: v.burst ?? defaultBurst(v.rps) };
}
