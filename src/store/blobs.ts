import type { Kysely } from 'kysely';
import { badRequest, conflict } from '../errors.js';
import type { BlobFiles } from './blob-files.js';
import { DiskSpace } from './disk-full.js';
import { parseSha256, sha256Hex } from './content-hash.js';
import type { GroupCommitWriter } from './group-commit.js';
import { KeyedLock } from './keyed-lock.js';
import type { StoreLogger } from './logger.js';
import type { BlobsTable, StoreSchema } from './schema.js';

export interface BlobMeta {
  sha256: string;
  bytes: number;
  mediaType: string;
  width: number | null;
  height: number | null;
  createdAt: number;
}

export interface BlobPutOptions {
  mediaType: string;
  width?: number | null;
  height?: number | null;
}

export interface BlobStore {
  /** Stores bytes under their SHA-256; `created` is false when the same bytes were already stored. */
  put(bytes: Uint8Array, options: BlobPutOptions): Promise<{ sha256: string; created: boolean }>;
  /** Metadata and the file path to stream from; undefined when unknown. Throws 400 for a malformed hash. */
  get(sha256: string): Promise<{ meta: BlobMeta; path: string } | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Removes row and file; false when unknown; 409 while a job or detection refers to the blob. */
  delete(sha256: string): Promise<boolean>;
}

const MAX_DIMENSION = 2 ** 31 - 1;

function checkDimension(value: number | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_DIMENSION) {
    throw badRequest(`${field} must be a non-negative integer`, { field });
  }
  return value;
}

function toMeta(row: BlobsTable): BlobMeta {
  return {
    sha256: row.sha256,
    bytes: Number(row.bytes),
    mediaType: row.media_type,
    width: row.width === null ? null : Number(row.width),
    height: row.height === null ? null : Number(row.height),
    createdAt: Number(row.created_at),
  };
}

/**
 * Rows in `blobs`, files in BlobFiles. The file is made durable before the row is
 * committed, so a committed row always has its file; a crash in between leaves only an
 * unreferenced file that the next put of the same bytes reuses. Work on one hash is
 * serialised in this process so a put and a delete of the same bytes cannot interleave.
 */
export function createBlobStore(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>, files: BlobFiles, logger: StoreLogger): BlobStore {
  const lock = new KeyedLock();
  const space = new DiskSpace(logger, 'blob files');

  const selectRow = (sha256: string) => db.selectFrom('blobs').selectAll().where('sha256', '=', sha256).executeTakeFirst();

  return {
    async put(bytes, options) {
      if (!(bytes instanceof Uint8Array)) throw badRequest('blob bytes must be a Uint8Array');
      const mediaType = options?.mediaType;
      if (typeof mediaType !== 'string' || mediaType === '' || mediaType.length > 255) {
        throw badRequest('mediaType must be a non-empty string of at most 255 characters', { field: 'mediaType' });
      }
      const width = checkDimension(options.width, 'width');
      const height = checkDimension(options.height, 'height');
      const sha256 = sha256Hex(bytes);
      return lock.run(sha256, async () => {
        const existing = await selectRow(sha256);
        const onDisk = await files.exists(sha256);
        if (!onDisk) {
          if (existing !== undefined) logger.warn({ sha256 }, 'blob file was missing; rewriting it');
          await space.guard(() => files.write(sha256, bytes));
        }
        if (existing !== undefined) return { sha256, created: false };
        const row: BlobsTable = {
          sha256,
          bytes: bytes.byteLength,
          media_type: mediaType,
          width,
          height,
          created_at: Date.now(),
        };
        // Another process sharing a MySQL database may have inserted the row meanwhile.
        const inserted = await writer.write(async (trx) => {
          const result = await trx.insertInto('blobs').values(row).orIgnore().executeTakeFirst();
          return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
        });
        return { sha256, created: inserted };
      });
    },

    async get(sha256) {
      const hash = parseSha256(sha256);
      const row = await selectRow(hash);
      if (row === undefined) return undefined;
      if (!(await files.exists(hash))) {
        logger.error({ sha256: hash }, 'blob row has no file');
        return undefined;
      }
      return { meta: toMeta(row), path: files.pathFor(hash) };
    },

    async has(sha256) {
      const hash = parseSha256(sha256);
      const row = await db.selectFrom('blobs').select('sha256').where('sha256', '=', hash).executeTakeFirst();
      return row !== undefined;
    },

    async delete(sha256) {
      const hash = parseSha256(sha256);
      return lock.run(hash, async () => {
        const outcome = await writer.write(async (trx) => {
          const job = await trx.selectFrom('jobs').select('id').where('image_sha256', '=', hash).limit(1).executeTakeFirst();
          const detection = await trx.selectFrom('detections').select('id').where('image_sha256', '=', hash).limit(1).executeTakeFirst();
          if (job !== undefined || detection !== undefined) return 'referenced' as const;
          const result = await trx.deleteFrom('blobs').where('sha256', '=', hash).executeTakeFirst();
          return Number(result.numDeletedRows) > 0 ? ('deleted' as const) : ('missing' as const);
        });
        if (outcome === 'referenced') throw conflict(`blob ${hash} is still referenced by a job or detection`);
        // The row is gone first, so nobody is handed a path to a file being removed.
        // An unreferenced file without a row (left by a crash) is removed too.
        await files.remove(hash);
        return outcome === 'deleted';
      });
    },
  };
}
