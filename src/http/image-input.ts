import type { z } from 'zod';
import { badRequest, unsupportedMediaType } from '../errors.js';
import type { Config } from '../config.js';
import { isJsonMediaType, readJson } from './body/json.js';
import { readMultipart } from './body/multipart.js';
import { readRaw } from './body/raw.js';
import type { RequestContext } from './request-context.js';
import { parseWith } from './schemas/request-validation.js';

/** The schemas a route validates the non-raw forms of its body with. */
export interface ImageBodySchemas<J extends z.ZodType, F extends z.ZodType> {
  /** The whole JSON body (images as base64 inside it). */
  json: J;
  /** The text fields of a multipart body; its files are the image parts. */
  fields: F;
}

/** An image body in the form the client sent it. */
export type ImageBody<J extends z.ZodType, F extends z.ZodType> =
  { form: 'image'; image: Buffer } | { form: 'multipart'; images: Buffer[]; fields: z.output<F> } | { form: 'json'; json: z.output<J> };

/** What a route that reads an image body and decodes its images can refuse it with, as documented. */
export const IMAGE_BODY_ERRORS = {
  413: 'the body, a file or an image (bytes, or width × height once decoded) is over its limit',
  415: 'not an image the server recognises by its content, or a body type it does not take',
  422: 'the image could not be decoded',
} as const;

/** Multipart parts under these names are images. */
const FILE_FIELDS = new Set(['file', 'files', 'image']);

/**
 * Reads a request body that carries images, in any of its forms: a raw image
 * (`Content-Type: image/*` or application/octet-stream), multipart `file` parts, or JSON. JSON and
 * the multipart text fields are validated by the route's schemas (400 naming the field).
 */
export async function readImageBody<J extends z.ZodType, F extends z.ZodType>(
  ctx: RequestContext,
  config: Config,
  schemas: ImageBodySchemas<J, F>,
): Promise<ImageBody<J, F>> {
  const type = ctx.mediaType;
  if (type.startsWith('image/') || type === 'application/octet-stream') {
    return { form: 'image', image: await readRaw(ctx, config.maxFileBytes, 'image body') };
  }
  if (type === 'multipart/form-data') {
    const body = await readMultipart(ctx, { fileBytes: config.maxFileBytes, files: config.maxFiles, fields: config.maxFields });
    const files = body.files.filter((f) => FILE_FIELDS.has(f.field));
    if (files.length === 0) throw badRequest('multipart body has no "file" field', { field: 'file' });
    return { form: 'multipart', images: files.map((f) => f.bytes), fields: parseWith(schemas.fields, body.fields) };
  }
  if (isJsonMediaType(type)) {
    return { form: 'json', json: parseWith(schemas.json, await readJson(ctx, config.maxJsonBytes)) };
  }
  const err = unsupportedMediaType(`expected an image, multipart/form-data or application/json body, got ${type || 'none'}`);
  ctx.body.fail(err);
  throw err;
}
