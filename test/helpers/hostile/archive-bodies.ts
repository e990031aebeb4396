/**
 * Archive bodies past their limits, for the routes that take a dataset archive as the body: a
 * plain tar is held to the body limit as sent; a gzip-compressed tar and a zip to what they
 * unpack to (four times the body limit), which a small body can exceed.
 */
import { gzipSync } from 'node:zlib';
import { writeTar } from '../../../dist/src/evaluation/archive-tar.js';
import { writeZip } from '../archives.js';
import type { Limits } from './limits.js';

const PLAIN_TAR = new Set(['application/x-tar', 'application/tar']);
const GZIP_TAR = new Set(['application/gzip', 'application/x-gzip', 'application/x-compressed-tar']);
const ZIP = new Set(['application/zip', 'application/x-zip-compressed']);

export const isArchiveType = (type: string) => PLAIN_TAR.has(type) || GZIP_TAR.has(type) || ZIP.has(type);

/** A well-formed archive of the type that is over its limit: as sent for a plain tar, once unpacked for the others. */
export function oversizeArchive(type: string, limits: Limits): Buffer {
  if (PLAIN_TAR.has(type)) {
    return writeTar([{ path: 'set/red/big.png', bytes: Buffer.alloc(limits.bodyBytes + 64 * 1024, 1) }]);
  }
  const unpacked = Buffer.alloc(limits.bodyBytes * 4 + 64 * 1024);
  if (ZIP.has(type)) return writeZip([{ path: 'set/red/big.png', bytes: unpacked }]);
  return gzipSync(writeTar([{ path: 'set/red/big.png', bytes: unpacked }]));
}
