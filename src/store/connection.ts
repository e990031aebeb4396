import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, MysqlDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import type { DatabaseLocation } from './database-url.js';
import type { StoreSchema } from './schema.js';

/** Opens the database a location names and checks that it answers. */
export async function connect(location: DatabaseLocation, shownUrl: string): Promise<Kysely<StoreSchema>> {
  const db = location.kind === 'sqlite' ? openSqlite(location.file) : openMysql(location);
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw new Error(`cannot connect to database "${shownUrl}": ${(err as Error).message}`, { cause: err });
  }
  return db;
}

function openSqlite(file: string): Kysely<StoreSchema> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new Database(file);
  try {
    // WAL lets readers run during a commit; FULL syncs the WAL at every commit, so a
    // resolved write survives power loss (NORMAL would only survive a process crash).
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('busy_timeout = 5000');
  } catch (err) {
    database.close();
    throw err;
  }
  return new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database }) });
}

function openMysql(location: Extract<DatabaseLocation, { kind: 'mysql' }>): Kysely<StoreSchema> {
  const pool = createPool({
    host: location.host,
    port: location.port,
    ...(location.user !== undefined ? { user: location.user } : {}),
    ...(location.password !== undefined ? { password: location.password } : {}),
    database: location.database,
    connectionLimit: location.connectionLimit,
    charset: 'utf8mb4',
  });
  return new Kysely<StoreSchema>({
    dialect: new MysqlDialect({
      pool,
      // Strict mode turns silent truncation of over-long values into errors, as on a
      // stock server; set per connection so a permissive server default cannot relax it.
      onCreateConnection: async (connection) => {
        await connection.executeQuery(
          CompiledQuery.raw("set session sql_mode = if(@@session.sql_mode = '', 'STRICT_ALL_TABLES', concat(@@session.sql_mode, ',STRICT_ALL_TABLES'))"),
        );
      },
    }),
  });
}
