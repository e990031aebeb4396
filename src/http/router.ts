import { PARAM_PROBLEMS, type PathParams } from './path-params.js';
import type { RequestContext } from './request-context.js';
import type { Reply } from './reply.js';
import type { RouteSchema } from './schemas/route-schema.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: Method;
  /** Path pattern: literal segments and `:name` parameters, e.g. `/v1/models/:name/predict`. */
  path: string;
  handler: Handler;
  /** Short label for logs and metrics; defaults to the pattern. */
  name?: string;
  /** What the route accepts and answers: validates requests and describes the route in /openapi.json. */
  schema?: RouteSchema;
  /**
   * For a route whose protocol has an error shape of its own: rewrites the error answers given on
   * its behalf, refusals before the handler (keys, rate limits) and errors the handler throws.
   */
  errorReply?: (reply: Reply) => Reply;
}

const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Strict percent-decoding: a `%` not followed by two hex digits, or escapes whose bytes are not
 * UTF-8 (`%C3%28`, `%FF`, an encoded surrogate `%ED%A0%80`), give the problem in words instead of
 * being kept as written or turned into U+FFFD.
 */
export function decodeComponent(raw: string): { value: string } | { problem: string } {
  if (raw.indexOf('%') === -1) return { value: raw };
  if (BAD_ESCAPE.test(raw)) return { problem: 'is not valid percent-encoding' };
  try {
    return { value: decodeURIComponent(raw) };
  } catch {
    return { problem: 'is not UTF-8 once percent-decoded' };
  }
}

/** `errorReply`, on a path with no route for the method: that of the path's routes, so a 405 speaks their protocol. */
export type Match =
  | { kind: 'found'; route: Route; params: PathParams }
  | { kind: 'method-not-allowed'; allow: Method[]; errorReply?: (reply: Reply) => Reply }
  | { kind: 'not-found' };

interface Node {
  literal: Map<string, Node>;
  param?: { name: string; node: Node };
  routes: Map<Method, Route>;
}

const newNode = (): Node => ({ literal: new Map(), routes: new Map() });

/** A segment trie: literal segments win over parameters, so `/v1/models/stats` can sit beside `/v1/models/:name`. */
export class Router {
  private readonly root = newNode();
  private readonly all: Route[] = [];
  /**
   * The nodes of paths without parameters, by path: the trie walk prefers literals at every step, so
   * such a path always ends on its own node, and a lookup finds it without splitting the path.
   */
  private readonly exact = new Map<string, Node>();

  add(route: Route): this {
    let node = this.root;
    const segments = splitPath(route.path);
    for (const segment of segments) {
      if (segment.startsWith(':')) {
        const name = segment.slice(1);
        if (node.param && node.param.name !== name) {
          throw new Error(`route ${route.path}: parameter :${name} conflicts with :${node.param.name}`);
        }
        node.param ??= { name, node: newNode() };
        node = node.param.node;
      } else {
        let next = node.literal.get(segment);
        if (!next) node.literal.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (node.routes.has(route.method)) throw new Error(`route ${route.method} ${route.path} registered twice`);
    node.routes.set(route.method, route);
    if (!segments.some((segment) => segment.startsWith(':'))) this.exact.set(trimSlash(route.path), node);
    this.all.push(route);
    return this;
  }

  routes(): readonly Route[] {
    return this.all;
  }

  match(method: string, path: string): Match {
    const params: PathParams = {};
    const node = this.exact.get(trimSlash(path)) ?? this.walk(this.root, splitPath(path), 0, params);
    if (!node || node.routes.size === 0) return { kind: 'not-found' };
    const route = node.routes.get(method as Method) ?? (method === 'HEAD' ? node.routes.get('GET') : undefined);
    if (!route) {
      const errorReply = [...node.routes.values()].find((r) => r.errorReply)?.errorReply;
      return { kind: 'method-not-allowed', allow: [...node.routes.keys()], ...(errorReply ? { errorReply } : {}) };
    }
    return { kind: 'found', route, params };
  }

  private walk(node: Node, segments: string[], i: number, params: PathParams): Node | undefined {
    if (i === segments.length) return node;
    const segment = segments[i];
    const literal = node.literal.get(segment);
    if (literal) {
      const found = this.walk(literal, segments, i + 1, params);
      if (found && found.routes.size > 0) return found;
    }
    if (node.param && segment !== '') {
      const found = this.walk(node.param.node, segments, i + 1, params);
      if (found && found.routes.size > 0) {
        const decoded = decodeComponent(segment);
        if ('value' in decoded) params[node.param.name] = decoded.value;
        else (params[PARAM_PROBLEMS] ??= []).unshift({ field: node.param.name, message: decoded.problem });
        return found;
      }
    }
    return undefined;
  }
}

/** One trailing slash does not make another path. */
function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function splitPath(path: string): string[] {
  return trimSlash(path).split('/').slice(1);
}
