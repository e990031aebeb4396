import type { Config } from '../../config.js';
import { badRequest, conflict, found, notFound, SightlineError } from '../../errors.js';
import { type ImageLimits, checkDecodes } from '../../imaging/index.js';
import type { Store } from '../../store/index.js';
import { matchesEtag } from '../etag.js';
import { IMAGE_BODY_ERRORS, readImageBody } from '../image-input.js';
import { bytes, json, noContent, type Reply } from '../reply.js';
import type { Route } from '../router.js';
import { validatedRoute } from '../validated-route.js';
import { ifNoneMatch } from '../schemas/conditional.js';
import { IMAGE_CONTENT_TYPES, imageParams, storedImage, uploadImageFields, uploadImageJson, uploadImageMultipart } from '../schemas/images.js';

export interface StoredImage {
  sha256: string;
  mediaType: string;
  width: number;
  height: number;
}

/**
 * Checks that bytes are a supported image predict can read: magic bytes and header (415, 413,
 * 422), then a full decode (422), as predict checks them. `field` names the input in error answers.
 */
export async function checkImage(data: Uint8Array, limits: ImageLimits, field?: string): Promise<Omit<StoredImage, 'sha256'>> {
  try {
    const probed = await checkDecodes(data, limits);
    return { mediaType: probed.mediaType, width: probed.oriented.width, height: probed.oriented.height };
  } catch (err) {
    if (field === undefined || !(err instanceof SightlineError)) throw err;
    throw new SightlineError(err.status, err.code, `${field}: ${err.message}`, { details: { ...err.details, field } });
  }
}

/** Stores checked image bytes content-addressed (the same bytes twice are stored once). */
export async function putImage(store: Store, data: Uint8Array, image: Omit<StoredImage, 'sha256'>): Promise<StoredImage> {
  const { sha256 } = await store.blobs.put(data, image);
  return { sha256, ...image };
}

export async function storeImage(store: Store, data: Uint8Array, limits: ImageLimits, field?: string): Promise<StoredImage> {
  return putImage(store, data, await checkImage(data, limits, field));
}

/** The bytes of a stored image named by `imageSha256`; 404 when none is stored. */
export async function storedImageBytes(store: Store, sha256: string): Promise<Buffer> {
  const image = found(await store.blobs.get(sha256), `image ${sha256}`);
  return image.read();
}

/** Stored bytes never change under their hash: cache them for good. */
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * Stores one image sent in any predict body form, checked as predict checks it; 201 with what was
 * stored, 200 when the same bytes were stored already.
 */
export async function uploadImage(
  store: Store,
  bytesIn: Uint8Array,
  limits: ImageLimits,
): Promise<{ image: StoredImage & { bytes: number }; created: boolean }> {
  const checked = await checkImage(bytesIn, limits);
  const { sha256, created } = await store.blobs.put(bytesIn, checked);
  return { image: { sha256, ...checked, bytes: bytesIn.byteLength }, created };
}

/**
 * POST /v1/images (store an image), GET /v1/images/{sha256} (a stored image with its media type;
 * the hash is the ETag), DELETE /v1/images/{sha256} (while nothing refers to it).
 */
export function imageRoutes(store: Store, config: Config): Route[] {
  const validators = { ETag: 'the quoted SHA-256: stored bytes never change', 'Cache-Control': 'public, max-age=31536000, immutable' };
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  return [
    validatedRoute({
      method: 'POST',
      path: '/v1/images',
      handler: async (ctx) => {
        const body = await readImageBody(ctx, config, { json: uploadImageJson, fields: uploadImageFields });
        if (body.form === 'multipart' && body.images.length > 1) throw badRequest('one image per request', { field: 'file' });
        const data = body.form === 'image' ? body.image : body.form === 'multipart' ? body.images[0] : body.json.image;
        const { image, created } = await uploadImage(store, data, limits);
        return json(image, created ? 201 : 200, { location: `/v1/images/${image.sha256}` });
      },
      schema: {
        operationId: 'uploadImage',
        summary: 'Store an image',
        description:
          'A raw image body, one multipart `file`, or JSON `{"image": "<base64 or data: URL>"}`, checked as predict checks it (content ' +
          'sniffing, size and pixel limits, a full decode). ' +
          'Its `sha256` then names it in `imageSha256` of predict, jobs and detections.',
        tags: ['Images'],
        body: { image: true, multipart: uploadImageMultipart, json: uploadImageJson },
        responses: {
          201: { description: 'stored', json: storedImage, headers: { Location: 'the image: /v1/images/{sha256}' } },
          200: { description: 'the same bytes were stored already', json: storedImage, headers: { Location: 'the image: /v1/images/{sha256}' } },
        },
        errors: {
          ...IMAGE_BODY_ERRORS,
          507: '`insufficient_storage`: no disk space left for the image (with Retry-After)',
        },
      },
    }),
    validatedRoute({
      method: 'DELETE',
      path: '/v1/images/:sha256',
      handler: async (_ctx, { params: { sha256 } }) => {
        let deleted: boolean;
        try {
          deleted = await store.blobs.delete(sha256);
        } catch (err) {
          if (err instanceof SightlineError && err.status === 409)
            throw conflict(`image ${sha256} is still referenced by a job or a detection; delete those first`);
          throw err;
        }
        if (!deleted) throw notFound(`image ${sha256} not found`);
        return noContent();
      },
      schema: {
        operationId: 'deleteImage',
        summary: 'Delete a stored image (its row and its bytes)',
        tags: ['Images'],
        params: imageParams,
        responses: { 204: { description: 'deleted, bytes included' } },
        errors: {
          400: '`sha256` is not 64 hexadecimal digits',
          404: 'no image with this hash is stored',
          409: 'a job or a detection still refers to the image',
        },
      },
    }),
    validatedRoute({
      method: 'GET',
      path: '/v1/images/:sha256',
      handler: async (_ctx, { params: { sha256 }, headers: request }): Promise<Reply> => {
        const image = found(await store.blobs.get(sha256), `image ${sha256}`);
        const etag = `"${image.meta.sha256}"`;
        const headers = { etag, 'cache-control': CACHE_CONTROL };
        if (matchesEtag(request['If-None-Match'], etag)) return { status: 304, headers };
        return bytes(await image.read(), image.meta.mediaType, headers);
      },
      schema: {
        operationId: 'getImage',
        summary: 'A stored image',
        tags: ['Images'],
        params: imageParams,
        headers: ifNoneMatch,
        responses: {
          200: { description: 'the image bytes, with their media type', contentType: IMAGE_CONTENT_TYPES, headers: validators },
          304: { description: 'the image has the ETag sent in If-None-Match', headers: validators },
        },
        errors: { 400: '`sha256` is not 64 hexadecimal digits', 404: 'no image with this hash is stored' },
      },
    }),
  ];
}
