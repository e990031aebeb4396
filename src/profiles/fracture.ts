import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { badRequest, errorBody, SightlineError, unsupportedMediaType } from '../errors.js';
import type { ClassifyAnswer } from '../heads/index.js';
import { isJsonMediaType, readJson } from '../http/body/json.js';
import { readRaw } from '../http/body/raw.js';
import type { RequestContext } from '../http/request-context.js';
import { bytes, json, type Reply } from '../http/reply.js';
import { base64Image, filePart } from '../http/schemas/field-types.js';
import { parseQuery, parseWith } from '../http/schemas/request-validation.js';
import { sniffImage } from '../imaging/sniff.js';
import { packageRoot } from '../package-root.js';
import { packageVersion } from '../package-version.js';
import { detailErrors } from './error-shapes.js';
import { fractureEvaluationRoutes } from './fracture-evaluation.js';
import { runModel } from './model-run.js';
import type { ProfileContext, ProfileDefinition, ProfileRoute } from './profile.js';
import { route, routeTable, type Endpoint, type RouteRow } from './route-table.js';
import { readUpload, readUploads } from './uploads.js';

/** The seed's batch limit. */
export const MAX_BATCH = 10;

const SOURCES = ['auto', 'local', 'huggingface'] as const;

/** What the service answers for one image. */
const prediction = z
  .strictObject({
    predicted_class: z.int().describe("the class's index in the model's labels"),
    predicted_label: z.string().describe('the label as the model names it, e.g. POSITIVE'),
    confidence: z.number(),
    probabilities: z.record(z.string(), z.number()).describe('every label, lower-cased, with its probability'),
    filename: z.string(),
    file_size: z.int().describe('bytes'),
    content_type: z.string().describe('as the upload declared it; sniffed from the content where it declared none'),
    inference_type: z.enum(['standard', 'local', 'base64', 'batch']),
    model_source: z.literal('local').describe('sightline runs the model from its repository'),
  })
  .meta({ id: 'FracturePrediction' });

const batchAnswer = z.strictObject({
  results: z
    .array(z.union([prediction, z.strictObject({ filename: z.string(), error: z.string() })]))
    .describe('in upload order; an image that fails has `error`'),
  total_images: z.int(),
  successful_predictions: z.int(),
  failed_predictions: z.int(),
  inference_type: z.literal('batch'),
  model_source: z.literal('local'),
});

const modelInfo = z.strictObject({
  model_name: z.string(),
  model_loaded: z.boolean(),
  model_state: z.string(),
  model_source: z.literal('local'),
  model_file: z.string().nullable().describe("the model file's name in the repository"),
  device: z.string().nullable(),
  classes: z.array(z.string()),
  num_classes: z.int(),
  input_size: z.array(z.int()).nullable().describe('[width, height] the model reads'),
  architecture: z.string().nullable(),
  hf_repo_id: z.null().describe('sightline loads no weights from the Hugging Face Hub'),
});

const rootAnswer = z.strictObject({
  message: z.string(),
  version: z.string(),
  status: z.literal('running'),
  model_loaded: z.boolean(),
  model_source: z.literal('local'),
  upload_interface: z.string(),
  api_docs: z.string(),
  docs: z.string(),
});

const healthAnswer = z.strictObject({
  status: z.enum(['healthy', 'unhealthy']),
  model_loaded: z.boolean(),
  model_state: z.string(),
  model_source: z.literal('local'),
  device: z.string().nullable(),
});

const loadAnswer = z.strictObject({ message: z.string(), source: z.enum(['auto', 'local']), model_info: modelInfo });

const apiDocsAnswer = z.strictObject({
  title: z.string(),
  version: z.string(),
  description: z.string(),
  endpoints: z.array(z.strictObject({ method: z.string(), path: z.string(), summary: z.string() })),
  openapi: z.string(),
  docs: z.string(),
});

const loadQuery = z.object({
  source: z
    .enum(SOURCES, { error: `must be one of ${SOURCES.join(', ')}` })
    .default('auto')
    .describe('where to load from: auto and local read the model repository'),
});

/** The JSON body of /predict_base64: the image under the plainest name, or the obvious variants. */
const BASE64_NAMES = ['image', 'image_base64', 'base64_image', 'base64', 'data'] as const;
const base64Body = z
  .object({
    ...Object.fromEntries(BASE64_NAMES.map((n) => [n, base64Image(n === 'image' ? 'the image, base64 or a data: URL' : 'the same as `image`').optional()])),
    filename: z.string().max(255).optional().describe('echoed as `filename`'),
  } as Record<(typeof BASE64_NAMES)[number], z.ZodOptional<ReturnType<typeof base64Image>>> & { filename: z.ZodOptional<z.ZodString> })
  .superRefine((body, ctx) => {
    if (!BASE64_NAMES.some((n) => body[n] !== undefined)) ctx.addIssue({ code: 'custom', path: ['image'], message: 'expected a base64 string or data URL' });
  })
  .meta({ id: 'FractureBase64Body' });

const multipartFile = z.object({ file: filePart('the image') });
const multipartFiles = z.object({
  files: z.array(filePart('an image')).min(1).max(MAX_BATCH).describe(`1 to ${MAX_BATCH} images; parts named \`file\` count too`),
});

const PAGE_FILE = path.join(packageRoot(), 'src', 'profiles', 'assets', 'fracture-upload.html');

/** The upload page, with a policy that allows exactly its own inline script and style. */
function uploadPage(): { body: Buffer; headers: Record<string, string> } {
  const html = readFileSync(PAGE_FILE, 'utf8');
  const hashOf = (tag: string) => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
    return `'sha256-${createHash('sha256')
      .update(m?.[1] ?? '')
      .digest('base64')}'`;
  };
  return {
    body: Buffer.from(html),
    headers: {
      'content-security-policy':
        `default-src 'none'; script-src ${hashOf('script')}; style-src ${hashOf('style')}; img-src blob:; ` +
        `connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    },
  };
}

interface Upload {
  filename: string;
  bytes: Uint8Array;
  contentType: string;
}

/** What the model's repository entry says now (a reload may have changed it), else what was read at start. */
function currentSpec(profile: ProfileContext) {
  return profile.models.detail(profile.model!)?.spec ?? profile.spec;
}

function info(profile: ProfileContext): z.output<typeof modelInfo> {
  const status = profile.models.status(profile.model!);
  const spec = currentSpec(profile);
  const labels = ((spec?.head as { labels?: string[] } | undefined)?.labels ?? []).slice();
  const input = spec?.input as { width?: number; height?: number } | undefined;
  return {
    model_name: profile.model!,
    model_loaded: status?.state === 'ready',
    model_state: status?.state ?? 'unknown',
    model_source: 'local',
    model_file: spec ? path.basename(spec.file) : null,
    device: status?.device?.actual ?? null,
    classes: labels,
    num_classes: labels.length,
    input_size: input?.width !== undefined && input.height !== undefined ? [input.width, input.height] : null,
    architecture: spec?.description ?? null,
    hf_repo_id: null,
  };
}

/** The service's answer for one image, from the classify head's. */
function answerOf(value: ClassifyAnswer, upload: Upload, inferenceType: z.output<typeof prediction>['inference_type']): z.output<typeof prediction> {
  // Probabilities come in label order, so their keys are the labels.
  const labels = Object.keys(value.probabilities);
  const probabilities: Record<string, number> = {};
  for (const label of labels) probabilities[label.toLowerCase()] = value.probabilities[label]!;
  return {
    predicted_class: labels.indexOf(value.label),
    predicted_label: value.label,
    confidence: value.confidence,
    probabilities,
    filename: upload.filename,
    file_size: upload.bytes.byteLength,
    content_type: upload.contentType,
    inference_type: inferenceType,
    model_source: 'local',
  };
}

/** The type an upload declared when it declared an image type; otherwise (none, text/plain, octet-stream) the one its content shows. */
const declaredType = (declared: string, data: Uint8Array) =>
  declared.startsWith('image/') ? declared : (sniffImage(data)?.mediaType ?? (declared || 'application/octet-stream'));

async function classify(profile: ProfileContext, rc: RequestContext | undefined, upload: Upload, inferenceType: z.output<typeof prediction>['inference_type']) {
  const p = await runModel(profile, rc, upload.bytes);
  return answerOf(p.value as ClassifyAnswer, upload, inferenceType);
}

/** The image of /predict_base64, from JSON or a urlencoded form. */
async function readBase64(rc: RequestContext, profile: ProfileContext): Promise<Upload> {
  let value: unknown;
  if (isJsonMediaType(rc.mediaType)) {
    value = await readJson(rc, profile.config.maxJsonBytes);
  } else if (rc.mediaType === 'application/x-www-form-urlencoded') {
    value = Object.fromEntries(new URLSearchParams((await readRaw(rc, profile.config.maxJsonBytes, 'form body')).toString('utf8')));
  } else {
    const err = unsupportedMediaType(`expected application/json (or a urlencoded form) with "image", got ${rc.mediaType || 'no content type'}`);
    rc.body.fail(err);
    throw err;
  }
  const body = parseWith(base64Body, value);
  const data = BASE64_NAMES.map((n) => body[n]).find((b) => b !== undefined)!;
  return { filename: body.filename ?? 'base64_image', bytes: data, contentType: declaredType('', data) };
}

const uploadOf = (file: { filename: string; bytes: Uint8Array; mediaType: string }): Upload => ({
  filename: file.filename,
  bytes: file.bytes,
  contentType: declaredType(file.mediaType, file.bytes),
});

/**
 * The medical fracture classifier (binary, FastAPI): predict by upload, batch or base64, model
 * info and reload, a browser upload page, its own endpoint list, and accuracy on a test folder.
 */
export const fractureProfile: ProfileDefinition = {
  name: 'fracture',
  description:
    'The Medical Fracture Detection API (FastAPI): a binary classifier with upload, batch and base64 predict, model info and reload, an ' +
    'upload page and test-set accuracy. Errors are `{"detail": "…"}`.',
  model: {
    defaultName: 'fracture',
    tasks: ['classify'],
    check: (spec) => {
      const labels = (spec.head as { labels?: string[] }).labels ?? [];
      return labels.length < 2 ? `its classify head has ${labels.length} label(s); the profile needs at least two (e.g. NEGATIVE, POSITIVE)` : undefined;
    },
  },
  takesDataset: true,
  errors: detailErrors,
  routes(profile) {
    const page = uploadPage();
    const predictRoute = (endpoint: Endpoint, summary: string, type: 'standard' | 'local'): RouteRow =>
      route(endpoint, 'predict', summary, {
        handler: async (rc) => {
          profile.models.assertServing(profile.model!);
          const file = await readUpload(rc, profile.config);
          return json(await classify(profile, rc, uploadOf(file), type));
        },
        body: { multipart: multipartFile },
        responses: { 200: { description: 'the prediction', json: prediction } },
        errors: { 422: 'the image could not be decoded', 503: 'the model is not ready (loading, failed, unloaded) or overloaded' },
      });

    const routes: ProfileRoute[] = routeTable({
      root: route('GET /', 'public', 'API status and model status', {
        handler: () =>
          json({
            message: 'Medical Fracture Detection API',
            version: packageVersion(),
            status: 'running',
            model_loaded: profile.models.status(profile.model!)?.state === 'ready',
            model_source: 'local',
            upload_interface: profile.mounted('/upload_interface'),
            api_docs: profile.mounted('/api_docs'),
            docs: '/docs',
          } satisfies z.output<typeof rootAnswer>),
        responses: { 200: { description: 'the status', json: rootAnswer } },
      }),
      health: route('GET /health', 'public', 'System health and model status', {
        handler: () => {
          const status = profile.models.status(profile.model!);
          const ready = status?.state === 'ready';
          return json({
            status: ready ? 'healthy' : 'unhealthy',
            model_loaded: ready,
            model_state: status?.state ?? 'unknown',
            model_source: 'local',
            device: status?.device?.actual ?? null,
          } satisfies z.output<typeof healthAnswer>);
        },
        responses: { 200: { description: 'health', json: healthAnswer } },
      }),
      modelInfo: route('GET /model_info', 'read', 'Model source, device, classes and input size', {
        handler: () => json(info(profile)),
        responses: { 200: { description: 'the model', json: modelInfo } },
      }),
      loadModel: route('POST /load_model', 'admin', 'Reload the model from disk (auto and local read the model repository)', {
        handler: async (rc) => {
          const { source } = parseQuery(rc, loadQuery);
          if (source === 'huggingface') {
            throw badRequest(
              'source "huggingface" is not available: sightline loads no weights from a hub; put the model file in the model repository and ' +
                'load it with source=local (or auto)',
              { field: 'source' },
            );
          }
          await profile.models.load(profile.model!);
          return json({ message: 'Model loaded successfully from the local model repository', source, model_info: info(profile) } satisfies z.output<
            typeof loadAnswer
          >);
        },
        description:
          'Traffic switches to the new version once it is ready; requests in flight finish on the old one. `huggingface` answers 400: ' +
          'sightline loads no weights from a hub.',
        query: loadQuery,
        responses: { 200: { description: 'reloaded', json: loadAnswer } },
        errors: {
          400: '`source` is huggingface or not a known source',
          409: 'the reload failed; the version loaded before keeps serving',
          500: 'the first load failed',
        },
      }),
      predict: predictRoute('POST /predict', 'Predict one uploaded image', 'standard'),
      predictLocal: predictRoute('POST /predict_local', 'Predict one uploaded image (local inference)', 'local'),
      predictGlobal: route('POST /predict_global', 'predict', 'Global inference through the Hugging Face Hub: not available', {
        handler: () => {
          throw new SightlineError(
            501,
            'not_implemented',
            'global inference through the Hugging Face Hub is not available: sightline runs the model itself; use /predict_local',
          );
        },
        responses: {},
        errors: { 501: 'always: sightline runs the model itself; use /predict_local' },
      }),
      predictBatch: route('POST /predict_batch', 'predict', `Predict up to ${MAX_BATCH} uploaded images`, {
        handler: async (rc) => {
          profile.models.assertServing(profile.model!);
          const { files } = await readUploads(rc, profile.config, { maxFiles: MAX_BATCH + 1 });
          if (files.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} images per batch, got ${files.length}`, { field: 'files' });
          const settled = await Promise.allSettled(files.map((f) => classify(profile, rc, uploadOf(f), 'batch')));
          const results = settled.map((s, i) => (s.status === 'fulfilled' ? s.value : { filename: files[i].filename, error: errorBody(s.reason).message }));
          const ok = settled.filter((s) => s.status === 'fulfilled').length;
          return json({
            results,
            total_images: files.length,
            successful_predictions: ok,
            failed_predictions: files.length - ok,
            inference_type: 'batch',
            model_source: 'local',
          } satisfies z.output<typeof batchAnswer>);
        },
        body: { multipart: multipartFiles },
        responses: { 200: { description: 'one result per image, in upload order', json: batchAnswer } },
        errors: { 400: `more than ${MAX_BATCH} images, or none`, 503: 'the model is not ready or overloaded' },
      }),
      predictBase64: route('POST /predict_base64', 'predict', 'Predict one base64-encoded image', {
        handler: async (rc) => {
          profile.models.assertServing(profile.model!);
          return json(await classify(profile, rc, await readBase64(rc, profile), 'base64'));
        },
        description:
          `JSON \`{"image": "<base64 or data: URL>", "filename": "…"}\` (also \`${BASE64_NAMES.slice(1).join('`, `')}\` for ` +
          `\`image\`), or the same as a urlencoded form.`,
        body: { json: base64Body },
        responses: { 200: { description: 'the prediction', json: prediction } },
        errors: { 422: 'the image could not be decoded', 503: 'the model is not ready or overloaded' },
      }),
      uploadInterface: route('GET /upload_interface', 'public', 'A web page to upload an image and see the prediction', {
        handler: (): Reply => bytes(page.body, 'text/html; charset=utf-8', page.headers),
        responses: { 200: { description: 'the page', contentType: 'text/html; charset=utf-8' } },
      }),
      apiDocs: route('GET /api_docs', 'public', 'Every endpoint of this API', {
        handler: () =>
          json({
            title: 'Medical Fracture Detection API',
            version: packageVersion(),
            description: 'Binary fracture classification served by sightline; /docs is the interactive reference of every route.',
            endpoints: routes.map((r) => ({ method: r.method, path: profile.mounted(r.path), summary: r.schema?.summary ?? '' })),
            openapi: '/openapi.json',
            docs: '/docs',
          } satisfies z.output<typeof apiDocsAnswer>),
        responses: { 200: { description: 'the endpoints', json: apiDocsAnswer } },
      }),
      ...fractureEvaluationRoutes(profile),
    });
    return routes;
  },
};
