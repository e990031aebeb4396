import { type Kysely, type Migration, Migrator, type RawBuilder, sql } from 'kysely';
import type { DatabaseKind } from './database-url.js';
import type { StoreLogger } from './logger.js';

/**
 * Schema migrations, listed in code (not read from a folder) so they ship inside the
 * compiled build. Names sort in the order they run; never rename or edit one that has
 * shipped, add a new one instead.
 */
interface MigrationContext {
  /** Appended to CREATE TABLE on MySQL; undefined on SQLite. */
  readonly tableOptions: RawBuilder<unknown> | undefined;
}

type TableBuilder = ReturnType<Kysely<any>['schema']['createTable']>;

function withOptions(builder: TableBuilder, ctx: MigrationContext): TableBuilder {
  return ctx.tableOptions === undefined ? builder : builder.modifyEnd(ctx.tableOptions);
}

// TEXT is 64 KiB on MySQL; results and metadata (polygons) can be larger. SQLite reads
// any type name containing TEXT as text, so the same spelling works on both.
const longText = sql`mediumtext`;

function initial(ctx: MigrationContext): Migration {
  return {
    async up(db) {
      await withOptions(
        db.schema
          .createTable('blobs')
          .addColumn('sha256', 'char(64)', (c) => c.primaryKey())
          .addColumn('bytes', 'bigint', (c) => c.notNull())
          .addColumn('media_type', 'varchar(255)', (c) => c.notNull())
          .addColumn('width', 'integer')
          .addColumn('height', 'integer')
          .addColumn('created_at', 'bigint', (c) => c.notNull()),
        ctx,
      ).execute();

      await withOptions(
        db.schema
          .createTable('jobs')
          .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('model', 'varchar(255)', (c) => c.notNull())
          .addColumn('image_sha256', 'char(64)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('idempotency_key', 'varchar(255)')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('result', longText)
          .addColumn('error', 'text'),
        ctx,
      ).execute();
      // Unique on a nullable column: both databases allow any number of NULLs.
      await db.schema.createIndex('jobs_idempotency_key').unique().on('jobs').column('idempotency_key').execute();
      await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('jobs_status_created').on('jobs').columns(['status', 'created_at', 'id']).execute();
      await db.schema.createIndex('jobs_model_created').on('jobs').columns(['model', 'created_at', 'id']).execute();
      await db.schema.createIndex('jobs_image').on('jobs').column('image_sha256').execute();

      await withOptions(
        db.schema
          .createTable('detections')
          .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('camera_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('track_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('label', 'varchar(255)', (c) => c.notNull())
          .addColumn('confidence', 'double precision', (c) => c.notNull())
          .addColumn('box_x1', 'double precision')
          .addColumn('box_y1', 'double precision')
          .addColumn('box_x2', 'double precision')
          .addColumn('box_y2', 'double precision')
          .addColumn('detected_at', 'bigint', (c) => c.notNull())
          .addColumn('image_sha256', 'char(64)')
          .addColumn('meta', longText)
          .addColumn('verify', longText)
          .addColumn('created_at', 'bigint', (c) => c.notNull()),
        ctx,
      ).execute();
      // Each listing filter gets an index that also serves the (detected_at, id) order.
      await db.schema.createIndex('detections_detected').on('detections').columns(['detected_at', 'id']).execute();
      await db.schema
        .createIndex('detections_camera_detected')
        .on('detections')
        .columns(['camera_id', 'detected_at', 'id'])
        .execute();
      await db.schema
        .createIndex('detections_label_detected')
        .on('detections')
        .columns(['label', 'detected_at', 'id'])
        .execute();
      await db.schema.createIndex('detections_image').on('detections').column('image_sha256').execute();
    },
    async down(db) {
      await db.schema.dropTable('detections').execute();
      await db.schema.dropTable('jobs').execute();
      await db.schema.dropTable('blobs').execute();
    },
  };
}

function migrations(ctx: MigrationContext): Record<string, Migration> {
  return {
    '0001_initial': initial(ctx),
  };
}

/**
 * MySQL compares text case-insensitively and ignores trailing spaces by default; SQLite
 * compares bytes. A binary NO PAD collation makes idempotency keys, labels and camera
 * ids mean the same on both. Its name differs between MariaDB and MySQL 8.
 */
async function mysqlTableOptions(db: Kysely<any>): Promise<RawBuilder<unknown>> {
  const { rows } = await sql<{ name: string }>`
    select collation_name as name from information_schema.collations
    where collation_name in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`.execute(db);
  const names = rows.map((r) => r.name);
  const collation = names.includes('utf8mb4_nopad_bin')
    ? 'utf8mb4_nopad_bin'
    : names.includes('utf8mb4_0900_bin')
      ? 'utf8mb4_0900_bin'
      : 'utf8mb4_bin';
  return sql`engine = InnoDB default charset = utf8mb4 collate = ${sql.raw(collation)}`;
}

/** Brings the schema up to date; safe to run on every start and from several processes. */
export async function migrateToLatest(db: Kysely<any>, kind: DatabaseKind, logger: StoreLogger): Promise<void> {
  const tableOptions = kind === 'mysql' ? await mysqlTableOptions(db) : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations({ tableOptions }) },
    migrationTableName: 'sightline_migration',
    migrationLockTableName: 'sightline_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') logger.info({ migration: result.migrationName }, 'store migration applied');
    if (result.status === 'Error') logger.error({ migration: result.migrationName }, 'store migration failed');
  }
  if (error !== undefined) {
    throw new Error(`store migration failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
