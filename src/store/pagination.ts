import { badRequest } from '../errors.js';

/** Position after the last row of a page: the (timestamp, id) sort key of that row. */
export interface PageKey {
  readonly at: number;
  readonly id: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `cursor` to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * Cursors are opaque to clients: base64url of a small JSON array tagged with the
 * listing it belongs to, so a jobs cursor is not silently accepted by detections.
 */
export function encodeCursor(listing: string, key: PageKey): string {
  return Buffer.from(JSON.stringify([listing, key.at, key.id])).toString('base64url');
}

export function decodeCursor(listing: string, cursor: string | undefined | null): PageKey | undefined {
  if (cursor === undefined || cursor === null || cursor === '') return undefined;
  if (typeof cursor === 'string' && cursor.length <= 512 && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (
        Array.isArray(value) &&
        value.length === 3 &&
        value[0] === listing &&
        Number.isSafeInteger(value[1]) &&
        typeof value[2] === 'string' &&
        value[2].length <= 64
      ) {
        return { at: value[1] as number, id: value[2] };
      }
    } catch {
      // fall through to the error below
    }
  }
  throw badRequest('cursor is not valid for this listing', { field: 'cursor' });
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, { field: 'limit' });
  }
  return limit;
}

/**
 * Builds a page from rows fetched with limit + 1: the extra row only says that
 * another page exists.
 */
export function toPage<R, T>(
  listing: string,
  rows: R[],
  limit: number,
  keyOf: (row: R) => PageKey,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(listing, keyOf(last)) : null,
  };
}
