import { z } from 'zod';
import { badRequest, notFound } from '../errors.js';
import type { ClassifyAnswer, MultiAnswer, MultilabelAnswer } from '../heads/index.js';
import type { ModelSpec } from '../engine/manifest.js';
import { readJson } from '../http/body/json.js';
import { json } from '../http/reply.js';
import { checkImage, putImage, storedImageBytes } from '../http/routes/images.js';
import { filePart } from '../http/schemas/field-types.js';
import { parseWith } from '../http/schemas/request-validation.js';
import { sniffImage } from '../imaging/sniff.js';
import { detailErrors } from './error-shapes.js';
import { runModel } from './model-run.js';
import type { ProfileContext, ProfileDefinition, ProfileRoute } from './profile.js';
import { route, routeTable } from './route-table.js';
import { readUpload } from './uploads.js';

/** The service's upload limit. */
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const ACCEPTED = new Set(['image/jpeg', 'image/png']);

const uploadForm = z.object({ file: filePart('a JPEG or PNG image (by its content), at most 5 MB') });
const uploadAnswer = z.strictObject({ image_id: z.string().describe('names the image in POST /analyze (its SHA-256)') });
const analyzeBody = z
  .strictObject({ image_id: z.string({ error: 'must be the image_id POST /upload answered' }).min(1, { error: 'must be the image_id POST /upload answered' }) })
  .meta({ id: 'ImageAnalysisRequest' });

/** The names of the model's two heads: the single label (its name is the answer's field) and the multi-label one. */
function headNames(spec: ModelSpec | undefined): { label: string; issues: string } | undefined {
  const heads = (spec?.head as { heads?: Record<string, { task: string }> } | undefined)?.heads ?? {};
  const of = (task: string) =>
    Object.entries(heads)
      .filter(([, h]) => h.task === task)
      .map(([name]) => name);
  const [label, ...moreLabels] = of('classify');
  const [issues, ...moreIssues] = of('multilabel');
  if (label === undefined || issues === undefined || moreLabels.length > 0 || moreIssues.length > 0) return undefined;
  return { label, issues };
}

/**
 * The image analysis API for a mobile app (FastAPI, X-API-Key on every route): upload an image
 * for an id, analyse it later into one label (e.g. skin type), a list of issues and a confidence,
 * from a model with a classify head and a multilabel head.
 */
export const imageAnalysisProfile: ProfileDefinition = {
  name: 'image-analysis',
  description:
    'The image analysis API (FastAPI) with an X-API-Key on every route: POST /upload (JPEG or PNG, at most 5 MB) → image_id, POST /analyze ' +
    '→ the label, the issues and the confidence. Errors are `{"detail": "…"}`.',
  model: {
    defaultName: 'image-analysis',
    tasks: ['multi'],
    check: (spec) =>
      headNames(spec) === undefined
        ? 'the profile needs exactly one head of task "classify" (its name is the answer\'s label field) and one of task "multilabel" (the issues)'
        : undefined,
  },
  errors: detailErrors,
  refuse: ({ keys }) =>
    keys.size === 0
      ? 'every route of this profile needs an X-API-Key, and no key is built in: configure SIGHTLINE_API_KEYS or SIGHTLINE_API_KEYS_FILE'
      : undefined,
  routes(profile: ProfileContext): ProfileRoute[] {
    const { store, config } = profile;
    const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: Math.min(config.maxFileBytes, MAX_UPLOAD_BYTES) };
    const names = () => headNames(profile.models.detail(profile.model!)?.spec) ?? headNames(profile.spec)!;
    const analyzeAnswer = z
      .looseObject({
        image_id: z.string(),
        [headNames(profile.spec)?.label ?? 'label']: z.string().describe('the single label of the classify head (the field is named after that head)'),
        issues: z.array(z.string()).describe("the multilabel head's labels over its threshold, most probable first"),
        confidence: z.number().describe("the single label's probability"),
      })
      .meta({ id: 'ImageAnalysis' });
    return routeTable({
      upload: route('POST /upload', 'predict', 'Upload a JPEG or PNG image (at most 5 MB) and get its image_id', {
        handler: async (rc) => {
          const file = await readUpload(rc, config, { fileBytes: MAX_UPLOAD_BYTES });
          const type = sniffImage(file.bytes)?.mediaType;
          if (type === undefined || !ACCEPTED.has(type))
            throw badRequest(`only JPEG and PNG images are accepted (by their content); ${JSON.stringify(file.filename)} is ${type ?? 'not an image'}`, {
              field: 'file',
            });
          const image = await checkImage(file.bytes, limits, 'file');
          const { sha256 } = await putImage(store, file.bytes, image);
          return json({ image_id: sha256 } satisfies z.output<typeof uploadAnswer>);
        },
        body: { multipart: uploadForm },
        responses: { 200: { description: 'stored', json: uploadAnswer } },
        errors: { 400: 'no file, or not a JPEG or PNG by its content', 413: 'the file is over 5 MB', 422: 'the image could not be decoded' },
      }),
      analyze: route('POST /analyze', 'predict', 'Analyse an uploaded image: its label, its issues and the confidence', {
        handler: async (rc) => {
          const { image_id } = parseWith(analyzeBody, await readJson(rc, config.maxJsonBytes));
          profile.models.assertServing(profile.model!);
          if (!/^[0-9a-f]{64}$/i.test(image_id) || !(await store.blobs.has(image_id))) throw notFound(`image ${image_id} not found`);
          const bytes = await storedImageBytes(store, image_id);
          const answer = (await runModel(profile, rc, bytes)).value as MultiAnswer;
          const { label, issues } = names();
          const single = answer.items?.[0]?.[label] as ClassifyAnswer;
          const multi = answer[issues] as MultilabelAnswer;
          return json({ image_id, [label]: single.label, issues: multi.labels, confidence: single.confidence });
        },
        body: { json: analyzeBody },
        responses: { 200: { description: 'the analysis', json: analyzeAnswer } },
        errors: { 404: 'no uploaded image has this image_id', 503: 'the model is not ready or overloaded' },
      }),
    });
  },
};
