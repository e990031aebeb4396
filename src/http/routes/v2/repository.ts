import type { ModelRepository } from '../../../engine/repository.js';
import type { RequestContext } from '../../request-context.js';
import { json } from '../../reply.js';
import type { Route } from '../../router.js';
import { modelNameParams, repositoryActionRequest, repositoryIndex as indexSchema, repositoryIndexRequest } from '../../schemas/open-inference.js';
import { parseParams, parseWith } from '../../schemas/request-validation.js';
import { protocolError } from '../../v2/protocol-error.js';
import { protocolRoute } from '../../v2/protocol-route.js';
import { repositoryIndex } from '../../v2/repository-index.js';

const MAX_BODY = 64 * 1024;

/** An optional small JSON body: the extension's request objects may be left out, and clients send them with or without a JSON content type. */
async function optionalJson(ctx: RequestContext): Promise<unknown> {
  const bytes = await ctx.body.collect(MAX_BODY, 'request body');
  if (bytes.byteLength === 0) return {};
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw protocolError(400, `failed to parse the request JSON buffer: ${(err as Error).message}`);
  }
}

type ActionSchema = Omit<Parameters<typeof protocolRoute>[0]['schema'], 'params' | 'body'>;

/**
 * POST /v2/repository/models/{name}/{action}: the model named in the path, a request body that may
 * be left out, and a 400 naming any parameter the action does not take; answers 200 without a body.
 */
function modelAction(
  action: string,
  options: { takes: readonly string[]; refusal: (given: string) => string; run: (name: string) => Promise<unknown>; schema: ActionSchema },
): Route {
  return protocolRoute({
    method: 'POST',
    path: `/v2/repository/models/:name/${action}`,
    handler: async (ctx) => {
      const { name } = parseParams(ctx, modelNameParams);
      const request = parseWith(repositoryActionRequest, await optionalJson(ctx));
      const unknown = Object.keys(request.parameters ?? {}).filter((k) => !options.takes.includes(k));
      if (unknown.length > 0) throw protocolError(400, options.refusal(unknown.join(', ')));
      await options.run(name);
      return { status: 200 };
    },
    schema: { params: modelNameParams, body: { json: repositoryActionRequest, required: false }, ...options.schema },
  });
}

/** Triton's model repository extension: index, load, unload. */
export function repositoryRoutes(repo: ModelRepository): Route[] {
  return [
    protocolRoute({
      method: 'POST',
      path: '/v2/repository/index',
      handler: async (ctx) => {
        const request = parseWith(repositoryIndexRequest, await optionalJson(ctx));
        return json(repositoryIndex(repo, request.ready === true));
      },
      schema: {
        operationId: 'getRepositoryIndex',
        summary: 'Every model of the repository, loaded or not, with its state',
        body: { json: repositoryIndexRequest, required: false },
        responses: { 200: { description: 'the models, by name', json: indexSchema } },
      },
    }),
    modelAction('load', {
      takes: [],
      refusal: (given) => `load takes no parameters here (models load from their folder in the repository as it is); got ${given}`,
      run: (name) => repo.load(name),
      schema: {
        operationId: 'loadRepositoryModel',
        summary: '(Re)load a model from its folder without a restart',
        description:
          'New instances come up, then traffic switches; requests in flight finish on the old ones. A reload that fails keeps the old version serving.',
        responses: { 200: { description: 'loaded (no body)' } },
        errors: {
          400: 'the model failed to load (the message says why), or parameters were given',
          404: 'no folder with a model.json by this name',
          503: 'the server is shutting down',
        },
      },
    }),
    modelAction('unload', {
      takes: ['unload_dependents'],
      refusal: (given) => `unload takes only the parameter unload_dependents; got ${given}`,
      run: (name) => repo.unload(name),
      schema: {
        operationId: 'unloadRepositoryModel',
        summary: 'Stop serving a model',
        description: 'New requests get 503 at once; queued and running ones finish.',
        responses: { 200: { description: 'unloaded (no body)' } },
        errors: { 404: 'no model by this name' },
      },
    }),
  ];
}
