import { type SelectQueryBuilder, sql } from 'kysely';
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

/** What one page of a listing asks for, checked: how many rows, and after which. */
export interface PageRequest {
  /** Tags the listing's cursors, so one listing's cursor is refused by another. */
  readonly listing: string;
  readonly limit: number;
  readonly after: PageKey | undefined;
}

/** Checks a page's `limit` and `cursor` for `listing`, before the listing's own filters are. */
export function pageRequest(listing: string, query: { limit?: number; cursor?: string | null }): PageRequest {
  const limit = pageLimit(query.limit);
  return { listing, limit, after: decodeCursor(listing, query.cursor) };
}

/** A row a listing can page through: its id and its timestamp column. */
type KeyedRow<C extends string> = { readonly id: string } & { readonly [K in C]: number };

/**
 * One page of `query`, newest first by (`column`, id): keyset pagination, so a page costs the
 * same however deep it is and rows inserted meanwhile neither repeat nor vanish. The query holds
 * the listing's filters; the index that serves them ends in (`column`, id).
 */
export async function readPage<DB, TB extends keyof DB, C extends string, R extends KeyedRow<C>, T>(
  query: SelectQueryBuilder<DB, TB, R>,
  column: C,
  request: PageRequest,
  map: (row: R) => T,
): Promise<Page<T>> {
  const { listing, limit, after } = request;
  const at = sql.ref(column);
  const id = sql.ref('id');
  const q = after === undefined ? query : query.where(sql<boolean>`(${at} < ${after.at} or (${at} = ${after.at} and ${id} < ${after.id}))`);
  // One row past the page only says that another page exists.
  const rows = await q
    .orderBy(at, 'desc')
    .orderBy(id, 'desc')
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(listing, { at: Number(last[column]), id: last.id }) : null,
  };
}
