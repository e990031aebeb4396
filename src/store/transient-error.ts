/**
 * True when a database error says nothing about the statement itself, only that the
 * connection or the server could not run it right now (dropped or killed connection,
 * refused connect, lock wait, deadlock, SQLite busy): the same statement may well
 * succeed when tried again.
 */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** MySQL/MariaDB error numbers of the same kinds, for drivers that report only the number. */
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013]);

export function isTransientDatabaseError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno, fatal } = err as { code?: unknown; errno?: unknown; fatal?: unknown };
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('SQLITE_BUSY'))) return true;
  if (typeof errno === 'number' && TRANSIENT_ERRNOS.has(errno)) return true;
  // mysql2 marks errors that closed the connection as fatal: the pool opens a fresh one.
  if (fatal === true) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /connection lost|connection is in closed state|can't add new command when connection is in closed state/i.test(message);
}
