import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { BlobBytes, BlobKind } from './blob-bytes.js';
import { chunkBlobBytes } from './blob-chunks.js';
import { fileBlobBytes } from './blob-file-bytes.js';
import { BlobFiles } from './blob-files.js';
import { type BlobStore, createBlobStore } from './blobs.js';
import { connect } from './connection.js';
import { type DatabaseKind, defaultDatabaseUrl, parseDatabaseUrl, redactDatabaseUrl } from './database-url.js';
import { type DetectionRepository, createDetectionRepository } from './detections.js';
import { type EvaluationRepository, createEvaluationRepository } from './evaluations.js';
import { type GroupCommitOptions, GroupCommitWriter } from './group-commit.js';
import { type JobRepository, createJobRepository } from './jobs.js';
import { type StoreLogger, silentLogger } from './logger.js';
import { migrateToLatest } from './migrations.js';
import type { StoreSchema } from './schema.js';

export interface StoreOptions {
  /** `sqlite:<path>`, `sqlite::memory:` or `mysql://user:password@host:port/database`; default `sqlite:<dataDir>/sightline.db`. */
  url?: string;
  /** Holds the SQLite file (by default) and, with `blobs: 'local'`, the blob files (`<dataDir>/blobs`). */
  dataDir: string;
  /** Where image bytes live: `local` files (default) or `database` chunks, which replicas sharing the database share. */
  blobs?: BlobKind;
  /** Group-commit window in ms (default 2); 0 commits every write in its own transaction. */
  groupCommitMs?: number;
  /** Largest group committed at once (default 1000). */
  maxGroupSize?: number;
  logger?: StoreLogger;
  onCommit?: GroupCommitOptions['onCommit'];
}

export interface Store {
  readonly kind: DatabaseKind;
  /** The URL in use, password hidden. */
  readonly url: string;
  readonly blobs: BlobStore;
  /** Where `blobs` keeps the bytes. */
  readonly blobKind: BlobKind;
  readonly jobs: JobRepository;
  readonly detections: DetectionRepository;
  readonly evaluations: EvaluationRepository;
  /** Every write goes through it; its counters feed the metrics. */
  readonly writer: GroupCommitWriter<StoreSchema>;
  /** The query builder, for reads the repositories do not cover. Write through `writer`. */
  readonly db: Kysely<StoreSchema>;
  /** Waits for accepted writes to commit, then closes the database. */
  close(): Promise<void>;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') throw new Error('openStore needs a dataDir');
  const logger = options.logger ?? silentLogger;
  const blobKind = options.blobs ?? 'local';
  if (blobKind !== 'local' && blobKind !== 'database') throw new Error(`openStore: blobs must be 'local' or 'database', got ${String(blobKind)}`);
  const url = options.url ?? defaultDatabaseUrl(options.dataDir);
  const shownUrl = redactDatabaseUrl(url);
  const location = parseDatabaseUrl(url);
  await mkdir(options.dataDir, { recursive: true });
  const db = await connect(location, shownUrl);
  let writer: GroupCommitWriter<StoreSchema>;
  let bytes: BlobBytes;
  try {
    writer = new GroupCommitWriter<StoreSchema>(db, {
      windowMs: options.groupCommitMs ?? 2,
      ...(options.maxGroupSize !== undefined ? { maxGroupSize: options.maxGroupSize } : {}),
      logger,
      ...(options.onCommit !== undefined ? { onCommit: options.onCommit } : {}),
    });
    await migrateToLatest(db, location.kind, logger);
    bytes = blobKind === 'database' ? chunkBlobBytes(db, writer) : fileBlobBytes(await BlobFiles.open(join(options.dataDir, 'blobs')), logger);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  logger.info({ database: shownUrl, kind: location.kind, blobs: blobKind }, 'store opened');

  let closing: Promise<void> | undefined;
  return {
    kind: location.kind,
    url: shownUrl,
    db,
    writer,
    blobKind,
    blobs: createBlobStore(db, writer, bytes, logger),
    jobs: createJobRepository(db, writer),
    detections: createDetectionRepository(db, writer),
    evaluations: createEvaluationRepository(db, writer),
    close() {
      closing ??= (async () => {
        await writer.close();
        await db.destroy();
      })();
      return closing;
    },
  };
}
