import { readFile } from 'node:fs/promises';
import { found, SightlineError } from '../../errors.js';
import { type ImageLimits, checkDecodes } from '../../imaging/index.js';
import type { Store } from '../../store/index.js';
import { matchesEtag } from '../etag.js';
import { bytes, type Reply } from '../reply.js';
import type { Route } from '../router.js';
import { validatedRoute } from '../validated-route.js';
import { ifNoneMatch } from '../schemas/conditional.js';
import { IMAGE_CONTENT_TYPES, imageParams } from '../schemas/images.js';

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

/** Stored bytes never change under their hash: cache them for good. */
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** GET /v1/images/{sha256}: a stored image with its media type; the hash is the ETag. */
export function imageRoutes(store: Store): Route[] {
  const validators = { ETag: 'the quoted SHA-256: stored bytes never change', 'Cache-Control': 'public, max-age=31536000, immutable' };
  return [
    validatedRoute({
      method: 'GET',
      path: '/v1/images/:sha256',
      handler: async (_ctx, { params: { sha256 }, headers: request }): Promise<Reply> => {
        const image = found(await store.blobs.get(sha256), `image ${sha256}`);
        const etag = `"${image.meta.sha256}"`;
        const headers = { etag, 'cache-control': CACHE_CONTROL };
        if (matchesEtag(request['If-None-Match'], etag)) return { status: 304, headers };
        return bytes(await readFile(image.path), image.meta.mediaType, headers);
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
