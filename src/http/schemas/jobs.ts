import { z } from 'zod';
import type { JobStatus } from '../../store/index.js';
import type { JobView } from '../../jobs/job-view.js';
import { pageOf, pageQueryShape } from './pages.js';
import { base64Image, filePart, modelName, queryParameters, sha256, sha256Out, strictFields } from './field-types.js';

const STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
const jobStatus = z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` });

export const jobParams = z.object({ id: z.string().describe('the job id (a UUID)') });

export const submitJobQuery = queryParameters({ model: modelName('the model to run; or a `model` field in the body').optional() });

export const submitJobHeaders = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1 to 255 visible ASCII characters' })
    .optional()
    .describe('retries with the same key get the same job (200 instead of 202); the same key with another image or model is 409'),
});

const model = modelName('the model to run; or `?model=`').optional();

/** A job's JSON body: the model and one image, sent now (base64) or stored earlier (its hash). */
export const submitJobJson = strictFields(
  {
    model,
    image: base64Image().optional(),
    imageSha256: sha256('a stored image, instead of `image`').optional(),
    images: z.never({ error: 'a job takes one image; submit one job per image' }).optional().describe('not accepted: a job takes one image'),
  },
  { notObject: 'expected a JSON object with "model" and "image"', unknown: 'unknown field' },
)
  .superRefine((body, ctx) => {
    if (body.image !== undefined && body.imageSha256 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'send either "image" or "imageSha256", not both' });
    } else if (body.image === undefined && body.imageSha256 === undefined) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'expected a base64 image (or "imageSha256" of a stored image)' });
    }
  })
  .meta({ id: 'JobSubmission', description: 'Send `image` or `imageSha256`, not both.', oneOf: [{ required: ['image'] }, { required: ['imageSha256'] }] });

/** The text fields of a multipart job submission (the image is its `file` part). */
export const submitJobFields = strictFields({ model }, { notObject: 'expected form fields', unknown: 'unknown field' });

export const submitJobMultipart = submitJobFields.extend({ file: filePart('the image') });

export const submittedJob = z.strictObject({
  id: z.uuid(),
  status: z.enum(STATUSES).describe('queued for a new job; the current status for a repeated Idempotency-Key'),
});

export const jobView = z
  .strictObject({
    id: z.uuid(),
    model: z.string(),
    status: z.enum(STATUSES),
    imageSha256: sha256Out('the stored image the job runs on'),
    idempotencyKey: z.string().nullable(),
    createdAt: z.int().describe('epoch milliseconds'),
    startedAt: z.int().nullable(),
    finishedAt: z.int().nullable(),
    error: z.string().nullable().describe('why a failed job failed'),
    attempts: z
      .int()
      .min(0)
      .describe(
        'times a replica claimed the job: 0 while first queued, 1 when it ran once, more when a replica died or stopped mid-run and another took it over',
      ),
    replica: z
      .string()
      .nullable()
      .describe('the replica id (SIGHTLINE_REPLICA_ID) running the job while running, the one that finished it once finished; null while queued'),
  })
  .meta({ id: 'Job', description: 'A job as listings, status answers and events show it.' });

export const jobPage = pageOf(jobView, 'newest first');

export const listJobsQuery = queryParameters({
  status: jobStatus.optional().describe('only jobs in this status'),
  model: z.string().optional().describe('only jobs of this model'),
  ...pageQueryShape,
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: [Same<z.output<typeof jobView>, JobView>, Same<(typeof STATUSES)[number], JobStatus>] = [true, true];
void checks;
