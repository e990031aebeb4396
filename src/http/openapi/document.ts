import type { Route } from '../router.js';
import { errorResponse, openApiPath, operation, REQUEST_ID_HEADER } from './operation.js';
import { SchemaComponents, type JsonSchema } from './schema-components.js';
import { SECURITY_SCHEMES, type RouteSecurity } from './security.js';

export type OpenApiDocument = JsonSchema & { openapi: string; paths: Record<string, Record<string, JsonSchema>> };

/** Tags in the order the reference lists them. */
const TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'Health', description: 'Liveness and readiness probes.' },
  { name: 'Models', description: 'The model repository: state, details, load and unload.' },
  { name: 'Predict', description: 'Run images through a model and get its answer.' },
  { name: 'Jobs', description: 'Queue a model run on one image and fetch the result later.' },
  { name: 'Evaluations', description: "A model's accuracy on a labelled dataset: start, watch, read the stored report, delete." },
  { name: 'Detections', description: 'Camera ingestion: store, list, count and delete detections.' },
  { name: 'Images', description: 'Stored images, addressed by their SHA-256.' },
  { name: 'WebSocket', description: 'Event subscriptions and predict over WebSocket; the frames are described in `x-websocket`.' },
  {
    name: 'Open Inference Protocol',
    description:
      "KServe v2 over HTTP under /v2, with Triton's binary tensor data, model repository, statistics and classification extensions: " +
      'tensors in a model\'s own layout to its batcher, or encoded images through the full path. Errors are `{"error": "<message>"}`.',
  },
  { name: 'Metrics', description: 'Prometheus metrics.' },
  { name: 'Console', description: 'The web console.' },
  { name: 'Reference', description: 'This document and its interactive reference.' },
];

const DESCRIPTION = [
  'sightline runs images through ONNX models (batched per model, in worker threads) and stores detections, jobs and images.',
  '',
  'Every error is JSON `{"error": {"code", "message", …}}` (on the Open Inference Protocol routes under /v2, the protocol\'s `{"error": ' +
    '"<message>"}`) with its status: 400 bad input (with `field`), 401/403 API key missing or without the scope, 404, 405 (with `Allow`), ' +
    '409, 413 too large, 415 unsupported media, 422 undecodable image, 429 rate limited and 503 overloaded (both with `Retry-After`), 500 only for bugs.',
  "Every response carries `x-request-id` (a client's own id is kept when it is a plain token of up to 128 characters).",
  '',
  'Once API keys are configured, every route other than the probes, the console, /metrics and this reference needs a key (`X-API-Key` or ' +
    '`Authorization: Bearer`; WebSocket upgrades also take `?key=`) holding the scope named in its `x-scope`. Without keys every route is ' +
    'open and the server listens on loopback only.',
  '',
  'Request bodies with images take three forms: a raw image body (`Content-Type: image/*` or `application/octet-stream`), ' +
    '`multipart/form-data` file parts, or JSON with base64 (or `data:` URL) strings.',
].join('\n');

/**
 * The OpenAPI 3.1 document of every registered route, built from the schemas the routes validate
 * with. A route registered without a schema still appears, marked undocumented.
 */
export function buildOpenApiDocument(
  routes: readonly Route[],
  version: string,
  security: (route: Route) => RouteSecurity | undefined = () => undefined,
  /** Tags of routes mounted besides the native API (service profiles), listed after the native ones. */
  extraTags: ReadonlyArray<{ name: string; description: string }> = [],
): OpenApiDocument {
  const components = new SchemaComponents();
  // Response shapes claim their names first, so a request shape that differs is the one renamed.
  for (const route of routes) {
    for (const answer of Object.values(route.schema?.responses ?? {})) if (answer.json) components.convert(answer.json, 'output');
    if (route.schema?.websocket) components.convert(route.schema.websocket.server, 'output');
  }
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(components, route, security(route));
  }
  const used = new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => (op.tags as string[] | undefined) ?? [])));
  return {
    openapi: '3.1.1',
    info: { title: 'sightline', version, description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [...TAGS, ...extraTags].filter((t) => used.has(t.name)),
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: SECURITY_SCHEMES,
      headers: {
        RequestId: { description: "the request's id: the client's own `x-request-id` when it is a plain token, else one made up", schema: { type: 'string' } },
      },
      responses: {
        NoRoute: errorResponse(components, 'no route has this path (code `not_found`)', 404),
        MethodNotAllowed: {
          ...errorResponse(components, 'the path exists but not with this method (code `method_not_allowed`); `Allow` lists the methods it has', 405),
          headers: { 'x-request-id': REQUEST_ID_HEADER, allow: { description: 'the methods this path has', schema: { type: 'string' } } },
        },
      },
    },
  };
}
