import type { z } from 'zod';
import { found, notFound } from '../../errors.js';
import { json, noContent } from '../reply.js';
import type { Route } from '../router.js';
import type { ResponseSchema } from '../schemas/route-schema.js';
import { validatedRoute } from '../validated-route.js';

/** How one operation is documented. */
interface Operation {
  operationId: string;
  summary: string;
  description?: string;
}

export interface StoredOperations<Q extends z.ZodType> {
  /** A page of the collection, filtered by `query`, as answered. */
  list: Operation & { query: Q; read: (query: z.output<Q>) => Promise<unknown>; json: z.ZodType };
  /** The thing an id names, as answered; undefined when there is none. */
  get: Operation & { find: (id: string) => Promise<unknown>; json: z.ZodType };
  /** Deletes it; false when there was none. */
  delete: Operation & { remove: (id: string) => Promise<boolean> };
}

/**
 * The routes of a stored collection (jobs, detections) at `collection`: a page of it, and GET and
 * DELETE of one member at `collection/:id`, with the same 404 naming it when the id names nothing.
 */
export function storedRoutes<Q extends z.ZodType>(
  collection: string,
  noun: string,
  tag: string,
  params: z.ZodType<{ id: string }>,
  ops: StoredOperations<Q>,
): Route[] {
  const doc = (op: Operation, responses: Record<number, ResponseSchema>) => ({
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    tags: [tag],
    responses,
  });
  const member = { params, errors: { 404: `no ${noun} with this id` } };
  const path = `${collection}/:id`;
  return [
    validatedRoute({
      method: 'GET',
      path: collection,
      handler: async (_ctx, { query }) => json(await ops.list.read(query as z.output<Q>)),
      schema: { ...doc(ops.list, { 200: { description: `a page of ${noun}s`, json: ops.list.json } }), query: ops.list.query },
    }),
    validatedRoute({
      method: 'GET',
      path,
      handler: async (_ctx, { params: { id } }) => json(found(await ops.get.find(id), `${noun} ${id}`)),
      schema: { ...doc(ops.get, { 200: { description: `the ${noun}`, json: ops.get.json } }), ...member },
    }),
    validatedRoute({
      method: 'DELETE',
      path,
      handler: async (_ctx, { params: { id } }) => {
        if (!(await ops.delete.remove(id))) throw notFound(`${noun} ${id} not found`);
        return noContent();
      },
      schema: { ...doc(ops.delete, { 204: { description: 'deleted' } }), ...member },
    }),
  ];
}
