import { createHash } from 'node:crypto';
import { badRequest } from '../errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Checks a client-supplied content hash and returns it in lowercase. Hashes become
 * file names, so anything that is not exactly 64 hex digits is rejected before it
 * gets near the filesystem.
 */
export function parseSha256(value: unknown, field = 'sha256'): string {
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (SHA256_HEX.test(lower)) return lower;
  }
  throw badRequest(`${field} must be a SHA-256 hash: 64 hexadecimal digits`, { field });
}
