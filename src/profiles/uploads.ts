import { badRequest } from '../errors.js';
import { readMultipart, type UploadedFile } from '../http/body/multipart.js';
import type { RequestContext } from '../http/request-context.js';
import type { Config } from '../config.js';

/** Multipart parts under these names are the uploaded images (`file` as the services name it, and the plural). */
const FILE_FIELDS = new Set(['file', 'files', 'image', 'images']);

/**
 * The image files of a multipart body, with their names and declared types as the services echo
 * them; `maxFiles` raises the multipart limit for routes that take more than the server's default.
 */
export async function readUploads(
  ctx: RequestContext,
  config: Config,
  options: { maxFiles?: number; fileBytes?: number } = {},
): Promise<{ files: UploadedFile[]; fields: Record<string, string> }> {
  const body = await readMultipart(ctx, {
    fileBytes: options.fileBytes ?? config.maxFileBytes,
    files: Math.max(options.maxFiles ?? 1, config.maxFiles),
    fields: config.maxFields,
  });
  const files = body.files.filter((f) => FILE_FIELDS.has(f.field));
  if (files.length === 0) throw badRequest('multipart body has no "file" field', { field: 'file' });
  return { files, fields: body.fields };
}

/** Exactly one uploaded image. */
export async function readUpload(ctx: RequestContext, config: Config, options: { fileBytes?: number } = {}): Promise<UploadedFile> {
  const { files } = await readUploads(ctx, config, options);
  if (files.length > 1) throw badRequest(`expected one file, got ${files.length}`, { field: 'file' });
  return files[0];
}
