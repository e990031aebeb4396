import { inspect } from 'node:util';
import { type ColumnDataType, type CreateTableBuilder, type Expression, type Kysely, type Migration, Migrator, type RawBuilder, sql } from 'kysely';
import type { DatabaseKind } from './database-url.js';
import { blobChunksMigration } from './blob-chunk-migration.js';
import { evaluationsMigration } from './evaluation-migration.js';
import { leasesMigration } from './lease-migration.js';
import type { StoreLogger } from './logger.js';
import { createTable, type TableOptions } from './table-migration.js';

/**
 * Schema migrations, listed in code (not read from a folder) so they ship inside the
 * compiled build. Names sort in the order they run; never rename or edit one that has
 * shipped, add a new one instead.
 */
interface MigrationContext {
  readonly tableOptions: TableOptions;
}

// TEXT is 64 KiB on MySQL; results and metadata (polygons) can be larger. SQLite reads
// any type name containing TEXT as text, so the same spelling works on both.
const longText = sql`mediumtext`;

/** A column: name, type, and its constraint when it has one. */
type Column = readonly [name: string, type: ColumnDataType | Expression<unknown>, constraint?: 'primary key' | 'not null'];

/** An index: name, table, columns, and whether it is unique. */
type Index = readonly [name: string, table: string, columns: readonly string[], unique?: 'unique'];

const INITIAL_TABLES: Readonly<Record<string, readonly Column[]>> = {
  blobs: [
    ['sha256', 'char(64)', 'primary key'],
    ['bytes', 'bigint', 'not null'],
    ['media_type', 'varchar(255)', 'not null'],
    ['width', 'integer'],
    ['height', 'integer'],
    ['created_at', 'bigint', 'not null'],
  ],
  jobs: [
    ['id', 'varchar(36)', 'primary key'],
    ['model', 'varchar(255)', 'not null'],
    ['image_sha256', 'char(64)', 'not null'],
    ['status', 'varchar(16)', 'not null'],
    ['idempotency_key', 'varchar(255)'],
    ['created_at', 'bigint', 'not null'],
    ['started_at', 'bigint'],
    ['finished_at', 'bigint'],
    ['result', longText],
    ['error', 'text'],
  ],
  detections: [
    ['id', 'varchar(36)', 'primary key'],
    ['camera_id', 'varchar(255)', 'not null'],
    ['track_id', 'varchar(255)', 'not null'],
    ['label', 'varchar(255)', 'not null'],
    ['confidence', 'double precision', 'not null'],
    ['box_x1', 'double precision'],
    ['box_y1', 'double precision'],
    ['box_x2', 'double precision'],
    ['box_y2', 'double precision'],
    ['detected_at', 'bigint', 'not null'],
    ['image_sha256', 'char(64)'],
    ['meta', longText],
    ['verify', longText],
    ['created_at', 'bigint', 'not null'],
  ],
};

const INITIAL_INDEXES: readonly Index[] = [
  // Unique on a nullable column: both databases allow any number of NULLs.
  ['jobs_idempotency_key', 'jobs', ['idempotency_key'], 'unique'],
  // Each listing filter gets an index that also serves the listing's (timestamp, id) order.
  ['jobs_created', 'jobs', ['created_at', 'id']],
  ['jobs_status_created', 'jobs', ['status', 'created_at', 'id']],
  ['jobs_model_created', 'jobs', ['model', 'created_at', 'id']],
  ['jobs_image', 'jobs', ['image_sha256']],
  ['detections_detected', 'detections', ['detected_at', 'id']],
  ['detections_camera_detected', 'detections', ['camera_id', 'detected_at', 'id']],
  ['detections_label_detected', 'detections', ['label', 'detected_at', 'id']],
  ['detections_image', 'detections', ['image_sha256']],
];

function initial(ctx: MigrationContext): Migration {
  return {
    async up(db) {
      for (const [table, columns] of Object.entries(INITIAL_TABLES)) {
        await createTable(db, table, ctx.tableOptions, (builder) => {
          let withColumns: CreateTableBuilder<string, string> = builder;
          for (const [name, type, constraint] of columns) {
            withColumns = withColumns.addColumn(name, type, (c) =>
              constraint === 'primary key' ? c.primaryKey() : constraint === 'not null' ? c.notNull() : c,
            );
          }
          return withColumns;
        });
      }
      for (const [name, table, columns, unique] of INITIAL_INDEXES) {
        const builder = db.schema
          .createIndex(name)
          .on(table)
          .columns([...columns]);
        await (unique === undefined ? builder : builder.unique()).execute();
      }
    },
    async down(db) {
      for (const table of Object.keys(INITIAL_TABLES).reverse()) await db.schema.dropTable(table).execute();
    },
  };
}

function migrations(ctx: MigrationContext): Record<string, Migration> {
  return {
    '0001_initial': initial(ctx),
    '0002_evaluations': evaluationsMigration(ctx.tableOptions),
    '0003_leases': leasesMigration,
    '0004_blob_chunks': blobChunksMigration(ctx.tableOptions),
  };
}

/**
 * MySQL compares text case-insensitively and ignores trailing spaces by default; SQLite
 * compares bytes. A binary NO PAD collation makes idempotency keys, labels and camera
 * ids mean the same on both. Its name differs between MariaDB and MySQL 8.
 */
async function mysqlTableOptions<DB>(db: Kysely<DB>): Promise<RawBuilder<unknown>> {
  const { rows } = await sql<{ name: string }>`
    select collation_name as name from information_schema.collations
    where collation_name in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`.execute(db);
  const names = rows.map((r) => r.name);
  const collation = names.includes('utf8mb4_nopad_bin') ? 'utf8mb4_nopad_bin' : names.includes('utf8mb4_0900_bin') ? 'utf8mb4_0900_bin' : 'utf8mb4_bin';
  return sql`engine = InnoDB default charset = utf8mb4 collate = ${sql.raw(collation)}`;
}

/** Brings the schema up to date; safe to run on every start and from several processes. */
export async function migrateToLatest<DB>(db: Kysely<DB>, kind: DatabaseKind, logger: StoreLogger): Promise<void> {
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
    throw new Error(`store migration failed: ${error instanceof Error ? error.message : inspect(error)}`, {
      cause: error,
    });
  }
}
