import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/** A database made for one test or benchmark run, on a server that holds others. */
export interface ScratchDatabase {
  /** The database URL to open it with. */
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database named `prefix` + random hex on the MySQL/MariaDB server `serverUrl`
 * names (same host, port and credentials; its database part is ignored), so runs that share a
 * server never see each other's rows.
 */
export async function createScratchDatabase(serverUrl: string, prefix: string, connectTimeoutMs = 10_000): Promise<ScratchDatabase> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  const onServer = (statement: string) => runOnServer(serverUrl, statement, connectTimeoutMs);
  await onServer(`create database \`${name}\` character set utf8mb4`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(`drop database if exists \`${name}\``) };
}

/** One statement outside any database, on its own connection. */
async function runOnServer(serverUrl: string, statement: string, connectTimeout: number): Promise<void> {
  const url = new URL(serverUrl);
  const connection = await createConnection({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectTimeout,
  });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}
