import { z } from 'zod';
import { badRequest, notFound, SightlineError } from '../errors.js';
import type { SegmentAnswer } from '../heads/index.js';
import { readJson } from '../http/body/json.js';
import { json } from '../http/reply.js';
import type { RequestContext } from '../http/request-context.js';
import { storeImage } from '../http/routes/images.js';
import { base64Image } from '../http/schemas/field-types.js';
import { parseParams, parseWith } from '../http/schemas/request-validation.js';
import type { Job } from '../store/index.js';
import { plainErrors } from './error-shapes.js';
import type { ProfileContext, ProfileDefinition, ProfileRoute } from './profile.js';
import { route, routeTable } from './route-table.js';

const SHA256 = /^[0-9a-f]{64}$/i;

const uploadBody = z
  .object({ image: base64Image('the car photo, base64 or a data: URL') }, { error: 'expected a JSON object with "image"' })
  .meta({ id: 'CarSegmentationUpload' });
const uploadAnswer = z.strictObject({ image_hash: z.string().describe('SHA-256 of the image bytes: the `image_id` of the other routes') });
const hashList = z.array(z.string()).describe('hashes of the images whose segmentation is ready, oldest first');
const statusAnswer = z.strictObject({
  status: z.enum(['Uploaded', 'Processing', 'Ready', 'Error']),
  message: z.string().describe('what is happening; for Error, the reason'),
});
const segmentsAnswer = z
  .record(z.string(), z.array(z.tuple([z.number(), z.number()])))
  .describe('segment name → polygon vertices `[x, y]` in image pixels; a segment with several regions gives `name`, `name_2`, … largest first')
  .meta({ id: 'CarSegments' });
const imageParams = z.object({ image_id: z.string().describe('the `image_hash` POST / answered') });

type Status = z.output<typeof statusAnswer>['status'];

const STATUS: Record<Job['status'], { status: Status; message: string }> = {
  queued: { status: 'Uploaded', message: 'image uploaded; waiting to be processed' },
  running: { status: 'Processing', message: 'segmentation in progress' },
  succeeded: { status: 'Ready', message: 'segmentation complete' },
  failed: { status: 'Error', message: '' },
};

/** The job of an image is found by an idempotency key of its own: one job per image and model. */
const keyOf = (profile: ProfileContext, sha256: string) => `car-segmentation:${profile.model}:${sha256}`;

/** The job of the image a request's `image_id` names; 404 when that image was never uploaded. */
async function jobOf(profile: ProfileContext, rc: RequestContext): Promise<Job> {
  const { image_id: imageId } = parseParams(rc, imageParams);
  const row = SHA256.test(imageId)
    ? await profile.store.db.selectFrom('jobs').select('id').where('idempotency_key', '=', keyOf(profile, imageId.toLowerCase())).executeTakeFirst()
    : undefined;
  const job = row === undefined ? undefined : await profile.store.jobs.get(row.id);
  if (job === undefined) throw notFound('image not found');
  return job;
}

/** Polygons keyed by segment name, the way the service keyed its segment files. */
function segmentsOf(answer: SegmentAnswer): z.output<typeof segmentsAnswer> {
  const out: Record<string, Array<[number, number]>> = {};
  const seen = new Map<string, number>();
  for (const polygon of answer.polygons) {
    const n = (seen.get(polygon.label) ?? 0) + 1;
    seen.set(polygon.label, n);
    out[n === 1 ? polygon.label : `${polygon.label}_${n}`] = polygon.points.map(([x, y]) => [x, y]);
  }
  return out;
}

/**
 * The car segmentation backend (Flask): upload a base64 photo, poll its status, fetch its parts
 * as polygons. Each upload is an async job of the segmentation model, found again by the image's hash.
 */
export const carSegmentationProfile: ProfileDefinition = {
  name: 'car-segmentation',
  description:
    'The car image segmentation backend (Flask): POST / a base64 photo (processed as a job), GET / the processed hashes, GET ' +
    '/{image_id}/status and /{image_id}/segments (polygons by part). Errors are `{"error": "…"}`.',
  model: { defaultName: 'car-segmentation', tasks: ['segment'] },
  errors: plainErrors,
  routes(profile): ProfileRoute[] {
    const { store, jobs, config, models } = profile;
    const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
    return routeTable({
      upload: route('POST /', 'predict', 'Upload a base64 car photo; its segmentation runs as a job', {
        handler: async (rc) => {
          const status = models.status(profile.model!);
          if (status?.state !== 'loading') models.assertServing(profile.model!);
          const raw = await readJson(rc, config.maxJsonBytes);
          if (raw === null || typeof raw !== 'object' || (raw as { image?: unknown }).image === undefined || (raw as { image?: unknown }).image === '') {
            throw badRequest('no image provided', { field: 'image' });
          }
          const { image } = parseWith(uploadBody, raw);
          const { sha256 } = await storeImage(store, image, limits, 'image');
          const key = keyOf(profile, sha256);
          let { job, created } = await store.jobs.create({ model: profile.model!, imageSha256: sha256, idempotencyKey: key });
          // Sending the same photo again after a failure processes it again, as the service did.
          if (!created && job.status === 'failed') {
            await jobs.delete(job.id);
            ({ job, created } = await store.jobs.create({ model: profile.model!, imageSha256: sha256, idempotencyKey: key }));
          }
          if (created) jobs.submit(job);
          return json({ image_hash: sha256 } satisfies z.output<typeof uploadAnswer>);
        },
        description: 'The same photo again answers the same hash without processing it twice (unless its processing failed).',
        body: { json: uploadBody },
        responses: { 200: { description: 'stored; processing started', json: uploadAnswer } },
        errors: { 400: 'no image provided, or not base64', 422: 'the image could not be decoded', 503: 'the segmentation model is unloaded or failed to load' },
      }),
      processed: route('GET /', 'read', 'The hashes of every processed image', {
        handler: async () => {
          const hashes: string[] = [];
          let cursor: string | null = null;
          const prefix = keyOf(profile, '');
          do {
            const page = await store.jobs.list({ model: profile.model!, status: 'succeeded', limit: 1000, cursor });
            for (const job of page.items) if (job.idempotencyKey?.startsWith(prefix)) hashes.push(job.imageSha256);
            cursor = page.nextCursor;
          } while (cursor !== null);
          return json(hashes.reverse() satisfies z.output<typeof hashList>);
        },
        responses: { 200: { description: 'the hashes', json: hashList } },
      }),
      status: route('GET /:image_id/status', 'read', "An image's processing status: Uploaded, Processing, Ready or Error (with the reason)", {
        handler: async (rc) => {
          const job = await jobOf(profile, rc);
          const { status, message } = STATUS[job.status];
          return json({ status, message: job.status === 'failed' ? (job.error ?? 'processing failed') : message } satisfies z.output<typeof statusAnswer>);
        },
        params: imageParams,
        responses: { 200: { description: 'the status', json: statusAnswer } },
        errors: { 404: 'no image with this id was uploaded' },
      }),
      segments: route('GET /:image_id/segments', 'read', "An image's parts as polygons, keyed by segment name", {
        handler: async (rc) => {
          const job = await jobOf(profile, rc);
          if (job.status === 'queued' || job.status === 'running') throw badRequest('the image is still being processed; poll its status');
          if (job.status === 'failed') throw notFound(`no segmentation for this image: ${job.error ?? 'processing failed'}`);
          const answer = job.result as SegmentAnswer | null;
          if (answer === null || !Array.isArray(answer.polygons)) throw new SightlineError(500, 'internal', 'internal server error');
          return json(segmentsOf(answer));
        },
        params: imageParams,
        responses: { 200: { description: 'the segments', json: segmentsAnswer } },
        errors: { 400: 'still being processed', 404: 'no image with this id, or its segmentation failed' },
      }),
    });
  },
};
