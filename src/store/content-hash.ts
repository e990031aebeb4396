import { createHash } from 'node:crypto';
import { badRequest } from '../errors.js';

/** How a malformed hash is refused, in the store and in request schemas alike. */
export const SHA256_RULE = 'must be a SHA-256 hash: 64 hexadecimal digits';
/** A hash as clients may write it: either case. */
export const SHA256_ANY_CASE = /^[0-9a-fA-F]{64}$/;
/** A hash as the server writes it. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Checks a client-supplied content hash and returns it in lowercase. Hashes become
 * file names, so anything that is not exactly 64 hex digits is rejected before it
 * gets near the filesystem.
 */
export function parseSha256(value: unknown, field = 'sha256'): string {
  if (typeof value === 'string' && SHA256_ANY_CASE.test(value)) return value.toLowerCase();
  throw badRequest(`${field} ${SHA256_RULE}`, { field });
}
