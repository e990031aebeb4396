import type { z } from 'zod';

/** A response a route can give, besides the errors it lists. */
export interface ResponseSchema {
  description: string;
  /** JSON body. */
  json?: z.ZodType;
  /** A body that is not JSON: its media type(s) (an image, HTML, text). */
  contentType?: string | readonly string[];
  /** Response headers worth knowing about, by name. */
  headers?: Readonly<Record<string, string>>;
}

/** The forms a request body may take; a route that reads a body names every form it accepts. */
export interface BodySchema {
  /** A raw image (any supported image type, or application/octet-stream). */
  image?: true;
  /** multipart/form-data: file parts and text fields. */
  multipart?: z.ZodObject;
  /** application/json. */
  json?: z.ZodType;
  /** Other binary media types taken as a raw body (archives). */
  binary?: readonly string[];
  /** False when the body may be left out altogether. */
  required?: boolean;
  description?: string;
}

/** A WebSocket route's message protocol, documented on its upgrade request. */
export interface WebSocketSchema {
  /** Frames the client sends. */
  client: z.ZodType;
  /** Frames the server sends. */
  server: z.ZodType;
  /** Close codes the server uses, with what they mean. */
  closeCodes: Readonly<Record<number, string>>;
}

/**
 * What a route accepts and answers. The same zod schemas validate requests in the handlers and
 * describe them in the OpenAPI document, so the two cannot drift apart.
 */
export interface RouteSchema {
  /** Unique across the API: names the operation in the document and in generated clients. */
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** Path parameters, one key per `:name` in the pattern. */
  params?: z.ZodType;
  query?: z.ZodType;
  /** Request headers, keys spelled as documented (matched case-insensitively). */
  headers?: z.ZodObject;
  body?: BodySchema;
  /** Successful (and redirection) answers by status. */
  responses: Readonly<Record<number, ResponseSchema>>;
  /**
   * Errors the route itself can answer, by status, with when. Errors every route of its kind can
   * give (400 for a query string or a body, 413/415 for a body, 500) are added by the document.
   */
  errors?: Readonly<Record<number, string>>;
  /** The body of every error answer, where a route answers in another shape than the shared one (a service profile's). */
  errorBody?: z.ZodType;
  websocket?: WebSocketSchema;
}
