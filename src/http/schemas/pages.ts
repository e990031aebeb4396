import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../store/index.js';
import { queryInteger } from './field-types.js';

/** The query parameters of every paged listing, beside its filters. */
export const pageQueryShape = {
  limit: queryInteger(1, MAX_PAGE_LIMIT, `page size (default ${DEFAULT_PAGE_LIMIT})`).optional(),
  cursor: z.string().optional().describe('`nextCursor` of the previous page'),
};

/** A page of a listing, its items in the order `order` describes. */
export const pageOf = <T extends z.ZodType>(item: T, order: string) =>
  z.strictObject({
    items: z.array(item).describe(order),
    nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
  });
