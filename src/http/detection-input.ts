import type { z } from 'zod';
import { badRequest } from '../errors.js';
import { detectionBatch, postedDetection } from './schemas/detections.js';
import { parseWith } from './schemas/request-validation.js';

/** One posted detection after validation; the image is stored (and its hash filled in) by the route. */
export type PostedDetection = Omit<z.output<typeof postedDetection>, 'image' | 'imageSha256'> & {
  /** Decoded snapshot, when `image` was sent. */
  image: Buffer | undefined;
  /** A previously stored image, when `imageSha256` was sent. */
  imageSha256: string | undefined;
  /** Prefix of this detection's fields in error messages: '' or 'detections[3].'. */
  at: string;
};

/**
 * The body schemas of POST /v1/detections for a batch limit: one detection, or
 * `{"detections": [...]}` with 1 to `maxPerRequest` of them.
 */
export function detectionBodySchemas(maxPerRequest: number) {
  const batch = detectionBatch(maxPerRequest);
  return { single: postedDetection, batch, either: postedDetection.or(batch) };
}

/**
 * Validates a POST /v1/detections body with the schema its shape calls for (a `detections` key
 * makes it a batch), so the first problem is reported with the field it is in.
 */
export function parseDetectionBody(body: unknown, schemas: ReturnType<typeof detectionBodySchemas>): { batch: boolean; detections: PostedDetection[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('expected a JSON object: one detection, or {"detections": [...]}');
  }
  const posted = (d: z.output<typeof postedDetection>, at: string): PostedDetection => ({
    ...d,
    image: d.image ?? undefined,
    imageSha256: d.imageSha256 ?? undefined,
    at,
  });
  if (!Object.hasOwn(body, 'detections')) return { batch: false, detections: [posted(parseWith(schemas.single, body), '')] };
  const { detections } = parseWith(schemas.batch, body);
  return { batch: true, detections: detections.map((d, i) => posted(d, `detections[${i}].`)) };
}
