import { join } from 'node:path';

export type DatabaseKind = 'sqlite' | 'mysql';

export type DatabaseLocation =
  | { readonly kind: 'sqlite'; /** A file path, or ':memory:'. */ readonly file: string }
  | {
      readonly kind: 'mysql';
      readonly host: string;
      readonly port: number;
      readonly user: string | undefined;
      readonly password: string | undefined;
      readonly database: string;
      readonly connectionLimit: number;
    };

/**
 * A database URL the store cannot open. `expected` says what would do, for callers whose messages
 * show the URL (and where it came from) themselves.
 */
export class DatabaseUrlError extends Error {
  readonly expected: string;

  constructor(message: string, expected: string) {
    super(message);
    this.name = 'DatabaseUrlError';
    this.expected = expected;
  }
}

export function defaultDatabaseUrl(dataDir: string): string {
  return `sqlite:${join(dataDir, 'sightline.db')}`;
}

/**
 * The URL with any password replaced, for messages and logs. The password runs from the first
 * colon of the user part to the last `@`, so one holding `@`, `/` or `:` unescaped (a URL that
 * does not even parse) is hidden whole too.
 */
export function redactDatabaseUrl(url: string): string {
  if (/^sqlite:/i.test(url)) return url;
  const at = url.lastIndexOf('@');
  if (at === -1) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const start = scheme === null ? 0 : scheme[0].length;
  const colon = url.slice(start, at).indexOf(':');
  if (colon === -1) return url;
  return `${url.slice(0, start + colon)}:***${url.slice(at)}`;
}

/**
 * Accepted forms:
 *   sqlite:<path>   sqlite:///abs/path   sqlite::memory:
 *   mysql://user:password@host:port/database?connectionLimit=10   (mariadb:// is the same)
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  const shown = redactDatabaseUrl(url);
  switch (scheme) {
    case 'sqlite': {
      let file = url.slice(colon + 1);
      if (file.startsWith('//')) file = file.slice(2);
      if (file === '') {
        throw new DatabaseUrlError(`database URL "${shown}" names no SQLite file (use sqlite:<path> or sqlite::memory:)`, 'sqlite:<path> or sqlite::memory:');
      }
      return { kind: 'sqlite', file };
    }
    case 'mysql':
    case 'mariadb': {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new DatabaseUrlError(
          `database URL "${shown}" is not a valid URL (expected mysql://user:password@host:port/database)`,
          'a valid URL: mysql://user:password@host:port/database',
        );
      }
      const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
      if (database === '' || database.includes('/')) {
        throw new DatabaseUrlError(
          `database URL "${shown}" must name one database: mysql://user:password@host:port/database`,
          'one database: mysql://user:password@host:port/database',
        );
      }
      const port = parsed.port === '' ? 3306 : Number(parsed.port);
      const limitParam = parsed.searchParams.get('connectionLimit');
      const connectionLimit = limitParam === null ? 10 : Number(limitParam);
      if (!Number.isInteger(connectionLimit) || connectionLimit < 1 || connectionLimit > 1000) {
        throw new DatabaseUrlError(`database URL "${shown}": connectionLimit must be an integer from 1 to 1000`, 'a connectionLimit of 1 to 1000');
      }
      return {
        kind: 'mysql',
        host: parsed.hostname === '' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, ''),
        port,
        user: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
        password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
        database,
        connectionLimit,
      };
    }
    default:
      throw new DatabaseUrlError(
        `unsupported database URL scheme "${scheme === '' ? '(none)' : `${scheme}:`}" in "${shown}"; ` +
          'expected "sqlite:<path>" or "mysql://user:password@host:port/database"',
        'sqlite:<path> or mysql://user:pass@host:port/db',
      );
  }
}
