import type { FieldProblem } from '../errors.js';

/**
 * Where a matched route's parameters say what was wrong with them: a segment that is not valid
 * percent-encoded UTF-8 still selects its route (the path has a route; its value is bad), and the
 * request is answered 400 naming the parameter when the handler reads them (RequestContext.params).
 */
export const PARAM_PROBLEMS = Symbol('path parameter problems');
export type PathParams = Record<string, string> & { [PARAM_PROBLEMS]?: FieldProblem[] };
