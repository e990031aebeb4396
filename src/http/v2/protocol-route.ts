import type { Route } from '../router.js';
import { protocolErrorBody } from '../schemas/open-inference.js';
import type { RouteSchema } from '../schemas/route-schema.js';
import { protocolErrorReply } from './protocol-error.js';

export const PROTOCOL_TAG = 'Open Inference Protocol';

/**
 * A route of the Open Inference Protocol: every error it gives, its handler's and the refusals
 * before it (keys, rate limits), is `{"error": "<message>"}`, and the document says so.
 */
export function protocolRoute(route: Omit<Route, 'schema' | 'errorReply'> & { schema: Omit<RouteSchema, 'tags' | 'errorBody'> }): Route {
  return { ...route, errorReply: protocolErrorReply, schema: { ...route.schema, tags: [PROTOCOL_TAG], errorBody: protocolErrorBody } };
}
