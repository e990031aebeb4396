import { z } from 'zod';

/** Conditional GET: the client's copy is still good when its ETag matches. */
export const ifNoneMatch = z.object({
  'If-None-Match': z.string().optional().describe('an ETag from an earlier answer: 304 when it matches'),
});

/** Response headers of files served with `no-cache` validators. */
export const REVALIDATED = { ETag: 'a validator of the content', 'Cache-Control': '`no-cache`: revalidate with If-None-Match' } as const;

/** The 304 of a conditional GET. */
export const UNCHANGED = { description: 'unchanged since the ETag sent', headers: REVALIDATED } as const;
