import { z } from 'zod';
import type { Detection, DetectionStats } from '../../store/index.js';
import { MAX_STATS_LATEST } from '../../store/index.js';
import { pageOf, pageQueryShape } from './pages.js';
import { base64Image, queryInteger, queryParameters, sha256, sha256Out, strictFields, text, timestamp } from './field-types.js';
import { MAX_JSON_DEPTH } from '../body/json-values.js';
import { predictAnswer } from './predict.js';

/** Serialised `meta` above this is refused: events carry it to every subscriber. */
export const MAX_META_BYTES = 64 * 1024;

/**
 * Size of `meta` as stored; undefined when JSON.stringify overflows its stack, which JSON nested a
 * few thousand levels deep does while still small (JSON.parse accepts deeper nesting than that).
 */
function metaBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return undefined;
  }
}
export const DEFAULT_STATS_LATEST = 10;

const coordinate = z.number({ error: 'must be a finite number' });
const boxRule = 'must be [x1, y1, x2, y2] with finite numbers';

/** One detection as an edge camera posts it. */
export const postedDetection = strictFields(
  {
    cameraId: text('the camera that saw it'),
    trackId: z
      .union(
        [
          z.int({ error: `must be a non-empty string of at most 255 characters` }).min(0, { error: 'must be a non-empty string of at most 255 characters' }),
          text(),
        ],
        {
          error: 'must be a non-empty string of at most 255 characters',
        },
      )
      .transform(String)
      .describe('1 to 255 characters; a non-negative integer is stored as text'),
    label: text(),
    confidence: z
      .number({ error: 'must be a number from 0 to 1' })
      .min(0, { error: 'must be a number from 0 to 1' })
      .max(1, { error: 'must be a number from 0 to 1' }),
    box: z
      .tuple([coordinate, coordinate, coordinate, coordinate], { error: boxRule })
      .refine(([x1, y1, x2, y2]) => x1 <= x2 && y1 <= y2, { error: 'must have x1 <= x2 and y1 <= y2' })
      .nullish()
      .transform((b) => b ?? null)
      .describe('`[x1, y1, x2, y2]` in the source image, x1 <= x2 and y1 <= y2'),
    detectedAt: timestamp(
      'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone',
      'epoch milliseconds, or ISO 8601 with a zone (`2024-03-10T08:00:00Z`)',
    ),
    image: base64Image('a snapshot, base64 or a data: URL; checked by its content and stored').nullish(),
    imageSha256: sha256('an image stored earlier, instead of `image`').nullish(),
    meta: z
      .unknown()
      .optional()
      .superRefine((v, ctx) => {
        if (v === undefined) return;
        const bytes = metaBytes(v);
        if (bytes === undefined) ctx.addIssue({ code: 'custom', message: 'is nested too deeply to store', input: v });
        else if (bytes > MAX_META_BYTES) ctx.addIssue({ code: 'custom', message: `must serialise to at most ${MAX_META_BYTES} bytes of JSON`, input: v });
      })
      .transform((v) => v ?? null)
      .describe(`any JSON, up to ${MAX_META_BYTES / 1024} KiB, nested at most ${MAX_JSON_DEPTH} levels`),
  },
  { notObject: 'must be a JSON object', unknown: 'unknown field' },
)
  .superRefine((d, ctx) => {
    if (d.image != null && d.imageSha256 != null) ctx.addIssue({ code: 'custom', path: ['image'], message: 'send either image or imageSha256, not both' });
  })
  .meta({ id: 'DetectionInput', description: 'One detection as a camera posts it. Send `image` or `imageSha256`, or neither.' });

/** A batch of detections, stored all or nothing. */
export function detectionBatch(maxPerRequest: number) {
  const rule = `must be an array of 1 to ${maxPerRequest} detections`;
  return strictFields(
    { detections: z.array(postedDetection, { error: rule }).min(1, { error: rule }).max(maxPerRequest, { error: rule }) },
    { notObject: 'must be a JSON object', unknown: 'unknown field (a batch holds only "detections")' },
  ).meta({ id: 'DetectionBatch', description: `1 to ${maxPerRequest} detections, stored all or nothing.` });
}

export const detectionParams = z.object({ id: z.string().describe('the detection id (a UUID)') });

export const verifyQuery = queryParameters({
  verify: z
    .string()
    .min(1, { error: 'must name a model' })
    .optional()
    .describe('run this model on each snapshot before storing; its answer is kept in `verify`'),
});

const queryTime = (description: string) => timestamp('must be epoch milliseconds or an ISO 8601 date-time with a zone', description).optional();

const filterShape = {
  cameraId: text('only this camera').optional(),
  camera: text('the same as `cameraId`').optional(),
  trackId: text('only this track').optional(),
  label: text('only this label').optional(),
  since: queryTime('detected at or after (epoch ms or ISO 8601 with a zone)'),
  until: queryTime('detected before (epoch ms or ISO 8601 with a zone)'),
};

/** `camera` is another name for `cameraId`; both may be given when they agree. */
function withCameraAlias<T extends { camera?: string | undefined; cameraId?: string | undefined }>(schema: z.ZodType<T>) {
  return schema
    .superRefine((q, ctx) => {
      if (q.camera !== undefined && q.cameraId !== undefined && q.camera !== q.cameraId) {
        ctx.addIssue({ code: 'custom', path: ['camera'], message: 'camera and cameraId disagree' });
      }
    })
    .transform(({ camera, ...rest }) => ({ ...rest, cameraId: rest.cameraId ?? camera }));
}

export const listDetectionsQuery = withCameraAlias(
  queryParameters({
    ...filterShape,
    ...pageQueryShape,
  }),
);

export const statsQuery = withCameraAlias(
  queryParameters({
    ...filterShape,
    bucket: z.enum(['minute', 'hour', 'day'], { error: 'must be one of minute, hour, day' }).default('hour').describe('bucket size (UTC boundaries)'),
    latest: queryInteger(0, MAX_STATS_LATEST, 'how many of the newest detections to include').default(DEFAULT_STATS_LATEST),
  }),
);

const box = z.tuple([z.number(), z.number(), z.number(), z.number()]);

export const detection = z
  .strictObject({
    id: z.uuid(),
    cameraId: z.string(),
    trackId: z.string(),
    label: z.string(),
    confidence: z.number().min(0).max(1),
    box: box.nullable(),
    detectedAt: z.int().min(0).describe('epoch milliseconds'),
    imageSha256: sha256Out('the stored snapshot: GET /v1/images/{sha256}').nullable(),
    meta: z.unknown().describe('what the camera sent; null when nothing'),
    verify: predictAnswer.nullable().describe('the answer of the `?verify=` model; null when none ran'),
    createdAt: z.int().describe('epoch milliseconds'),
  })
  .meta({ id: 'Detection', description: 'A stored detection.' });

export const detectionPage = pageOf(detection, 'newest first (detectedAt, then id)');

export const storedDetection = z.strictObject({
  id: z.uuid(),
  imageSha256: sha256Out('the stored snapshot').nullable(),
  verify: predictAnswer.nullable(),
});

export const storedBatch = z.strictObject({ ids: z.array(z.uuid()).describe('in input order') });

export const detectionStats = z.strictObject({
  total: z.int(),
  byLabel: z.record(z.string(), z.int()),
  byCamera: z.record(z.string(), z.int()),
  buckets: z.array(z.strictObject({ start: z.int().describe('epoch milliseconds'), count: z.int() })).describe('non-empty buckets only, oldest first'),
  latest: z.array(detection).describe('newest first'),
});

/** Holds only when every value the store returns is one the schema accepts (`verify` is typed by its schema alone). */
type Accepts<Schema, Value> = [Value] extends [Schema] ? true : false;
const checks: [
  Accepts<Omit<z.output<typeof detection>, 'verify'>, Omit<Detection, 'verify'>>,
  Accepts<Omit<z.output<typeof detectionStats>, 'latest'>, Omit<DetectionStats, 'latest'>>,
] = [true, true];
void checks;
