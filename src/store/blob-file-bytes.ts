import { readFile } from 'node:fs/promises';
import type { BlobBytes } from './blob-bytes.js';
import type { BlobFiles } from './blob-files.js';
import { DiskSpace } from './disk-full.js';
import type { StoreLogger } from './logger.js';

/**
 * Bytes in local files (SIGHTLINE_BLOBS=local). A file is made durable before its row is
 * committed; a crash in between leaves only an unreferenced file that the next put of the
 * same bytes reuses, and that a delete of the hash removes.
 */
export function fileBlobBytes(files: BlobFiles, logger: StoreLogger): BlobBytes {
  const space = new DiskSpace(logger, 'blob files');
  const write = (sha256: string, bytes: Uint8Array) => space.guard(() => files.write(sha256, bytes));
  return {
    kind: 'local',
    complete: (sha256) => files.exists(sha256),
    async beforeInsert(sha256, bytes) {
      if (!(await files.exists(sha256))) await write(sha256, bytes);
    },
    async insertWith() {},
    repair: write,
    async read(sha256) {
      try {
        return await readFile(files.pathFor(sha256));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async deleteWith() {},
    async afterDelete(sha256) {
      await files.remove(sha256);
    },
  };
}
