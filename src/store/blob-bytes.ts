import type { Transaction } from 'kysely';
import type { StoreSchema } from './schema.js';

/** Where image bytes live: `local` files under the data directory, or `database` chunks beside the rows. */
export type BlobKind = 'local' | 'database';

/**
 * A blob's bytes, kept apart from its `blobs` row. Each back-end hooks into the row's
 * lifecycle so that a committed row always has its bytes: files are made durable before
 * the row's transaction, chunks are written inside it. `sha256` is always validated.
 */
export interface BlobBytes {
  readonly kind: BlobKind;
  /** Whether all `bytes` bytes of a stored row are there, without reading them. */
  complete(sha256: string, bytes: number): Promise<boolean>;
  /** Before the transaction that inserts a new row. */
  beforeInsert(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Inside the transaction whose row insert took effect. */
  insertWith(trx: Transaction<StoreSchema>, sha256: string, bytes: Uint8Array): Promise<void>;
  /** Writes the bytes again for a row that has lost them. */
  repair(sha256: string, bytes: Uint8Array): Promise<void>;
  /** The stored bytes, undefined when there are none. */
  read(sha256: string): Promise<Buffer | undefined>;
  /** Inside the transaction that deletes the row. */
  deleteWith(trx: Transaction<StoreSchema>, sha256: string): Promise<void>;
  /** After that transaction committed. */
  afterDelete(sha256: string): Promise<void>;
}
