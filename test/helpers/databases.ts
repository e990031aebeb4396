/**
 * The databases the store suites run against. SQLite always; MariaDB/MySQL when
 * SIGHTLINE_TEST_MYSQL_URL names a server (e.g. mysql://root@127.0.0.1:3306/test).
 * Without it the MySQL half is skipped with a message, except under CI=true, where a
 * missing server must fail the run rather than quietly test less.
 *
 * Every database handed out is private to the test that asked for it: a fresh temp
 * directory (SQLite file and blobs), plus on MySQL a `sightline_test_<random>`
 * database, so test files running in parallel never see each other's rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, onTestFinished } from 'vitest';
import { createScratchDatabase } from '../../dist/src/store/scratch-database.js';

export const MYSQL_URL_ENV = 'SIGHTLINE_TEST_MYSQL_URL';

export interface TestDatabase {
  /** Database URL for openStore. */
  readonly url: string;
  /** An empty directory for openStore's dataDir. */
  readonly dataDir: string;
  /** Removes the database and the directory. */
  drop(): Promise<void>;
}

export interface DatabaseTarget {
  readonly name: 'sqlite' | 'mariadb';
  /** Why this target does not run here; undefined when it does. */
  readonly skipReason: string | undefined;
  create(): Promise<TestDatabase>;
}

const mysqlUrl = process.env[MYSQL_URL_ENV];
if ((mysqlUrl === undefined || mysqlUrl === '') && process.env.CI === 'true') {
  throw new Error(
    `${MYSQL_URL_ENV} is not set but CI=true: the store suites must run against MariaDB/MySQL in CI ` +
      `(e.g. ${MYSQL_URL_ENV}=mysql://root@127.0.0.1:3306/test)`,
  );
}

const tempDir = () => mkdtemp(join(tmpdir(), 'sightline-store-'));

const sqliteTarget: DatabaseTarget = {
  name: 'sqlite',
  skipReason: undefined,
  async create() {
    const dataDir = await tempDir();
    return {
      url: `sqlite:${join(dataDir, 'sightline.db')}`,
      dataDir,
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

const mariadbTarget: DatabaseTarget = {
  name: 'mariadb',
  skipReason: mysqlUrl === undefined || mysqlUrl === '' ? `${MYSQL_URL_ENV} is not set (set it to a MariaDB/MySQL URL)` : undefined,
  async create() {
    if (mysqlUrl === undefined || mysqlUrl === '') throw new Error(`${MYSQL_URL_ENV} is not set`);
    const database = await createScratchDatabase(mysqlUrl, 'sightline_test_');
    const dataDir = await tempDir();
    return {
      url: database.url,
      dataDir,
      async drop() {
        await database.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

export const databaseTargets: readonly DatabaseTarget[] = [sqliteTarget, mariadbTarget];

let skipNoticeShown = false;

/** Declares `body` once per database target; targets that cannot run here are skipped with their reason. */
export function describeEachDatabase(title: string, body: (target: DatabaseTarget) => void): void {
  for (const target of databaseTargets) {
    if (target.skipReason !== undefined) {
      if (!skipNoticeShown) {
        skipNoticeShown = true;
        console.warn(`[store tests] skipping ${target.name}: ${target.skipReason}`);
      }
      describe.skip(`${title} [${target.name}: skipped, ${target.skipReason}]`, () => body(target));
    } else {
      describe(`${title} [${target.name}]`, () => body(target));
    }
  }
}

/** A private database for the current test, dropped when the test finishes. */
export async function freshDatabase(target: DatabaseTarget): Promise<TestDatabase> {
  const database = await target.create();
  onTestFinished(() => database.drop());
  return database;
}

/** The server settings that put its store in `db`. */
export function storeEnv(db: TestDatabase): { SIGHTLINE_DATABASE_URL: string; SIGHTLINE_DATA_DIR: string } {
  return { SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_DATA_DIR: db.dataDir };
}
