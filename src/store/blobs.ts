import type { Kysely } from 'kysely';
import { badRequest, conflict, notFound } from '../errors.js';
import type { BlobBytes, BlobKind } from './blob-bytes.js';
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
  /** Metadata and a reader of the bytes; undefined when unknown. Throws 400 for a malformed hash. */
  get(sha256: string): Promise<StoredBlob | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Removes row and bytes; false when unknown; 409 while a job or detection refers to the blob. */
  delete(sha256: string): Promise<boolean>;
  /** Where the bytes live. */
  readonly kind: BlobKind;
}

export interface StoredBlob {
  meta: BlobMeta;
  /** All the bytes; rejects with 404 when they went missing since `get` (deleted meanwhile). */
  read(): Promise<Buffer>;
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
 * Rows in `blobs`, bytes in a BlobBytes back-end (local files or database chunks), which
 * sees to it that a committed row always has its bytes. Work on one hash is serialised in
 * this process so a put and a delete of the same bytes cannot interleave; replicas sharing
 * a MySQL database rely on the row's primary key instead.
 */
export function createBlobStore(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>, stored: BlobBytes, logger: StoreLogger): BlobStore {
  const lock = new KeyedLock();

  const selectRow = (sha256: string) => db.selectFrom('blobs').selectAll().where('sha256', '=', sha256).executeTakeFirst();

  const missing = (meta: BlobMeta, found: number | undefined) => {
    logger.error({ sha256: meta.sha256, blobs: stored.kind, expectedBytes: meta.bytes, foundBytes: found ?? null }, 'blob row has incomplete bytes');
    return notFound(`blob ${meta.sha256} not found: its bytes are missing`);
  };

  const read = async (meta: BlobMeta): Promise<Buffer> => {
    const bytes = await stored.read(meta.sha256);
    if (bytes === undefined || bytes.byteLength !== meta.bytes) throw missing(meta, bytes?.byteLength);
    return bytes;
  };

  return {
    kind: stored.kind,

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
        if (existing !== undefined) {
          if (!(await stored.complete(sha256, Number(existing.bytes)))) {
            logger.warn({ sha256, blobs: stored.kind }, 'blob bytes were missing; rewriting them');
            await stored.repair(sha256, bytes);
          }
          return { sha256, created: false };
        }
        await stored.beforeInsert(sha256, bytes);
        const row: BlobsTable = {
          sha256,
          bytes: bytes.byteLength,
          media_type: mediaType,
          width,
          height,
          created_at: Date.now(),
        };
        // Another process sharing a MySQL database may have inserted the row meanwhile: then
        // its transaction wrote the bytes, and this one writes nothing.
        const inserted = await writer.write(async (trx) => {
          const result = await trx.insertInto('blobs').values(row).orIgnore().executeTakeFirst();
          if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
          await stored.insertWith(trx, sha256, bytes);
          return true;
        });
        return { sha256, created: inserted };
      });
    },

    async get(sha256) {
      const hash = parseSha256(sha256);
      const row = await selectRow(hash);
      if (row === undefined) return undefined;
      const meta = toMeta(row);
      if (!(await stored.complete(hash, meta.bytes))) {
        missing(meta, undefined);
        return undefined;
      }
      return { meta, read: () => read(meta) };
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
          // Bytes without a row (a crash between file and row) go too.
          await stored.deleteWith(trx, hash);
          return Number(result.numDeletedRows) > 0 ? ('deleted' as const) : ('missing' as const);
        });
        if (outcome === 'referenced') throw conflict(`blob ${hash} is still referenced by a job or detection`);
        // The row is gone first, so nobody finds a row whose file is being removed.
        await stored.afterDelete(hash);
        return outcome === 'deleted';
      });
    },
  };
}
