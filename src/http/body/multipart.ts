import busboy from 'busboy';
import { badRequest, payloadTooLarge, type SightlineError, unsupportedMediaType } from '../../errors.js';
import type { RequestContext } from '../request-context.js';

export interface MultipartLimits {
  /** Bytes per file. */
  fileBytes: number;
  files: number;
  fields: number;
  /** Bytes per non-file field value. */
  fieldBytes?: number;
  /** Keep folders in file names (`cat/1.png`) instead of the base name only: dataset uploads name files by path. */
  preservePath?: boolean;
}

export interface UploadedFile {
  field: string;
  filename: string;
  mediaType: string;
  bytes: Buffer;
}

export interface MultipartBody {
  files: UploadedFile[];
  fields: Record<string, string>;
}

/**
 * Streams a multipart/form-data body through busboy as uWS delivers it. Any limit (file size,
 * file count, field count) fails the request with 413; the app then closes the connection so the
 * rest of an oversized upload is never read.
 */
export function readMultipart(ctx: RequestContext, limits: MultipartLimits): Promise<MultipartBody> {
  if (ctx.mediaType !== 'multipart/form-data') {
    const err = unsupportedMediaType(`expected Content-Type multipart/form-data, got ${ctx.mediaType || 'none'}`);
    ctx.body.fail(err);
    return Promise.reject(err);
  }
  const tooLong = ctx.body.refuseDeclaredPastLimit();
  if (tooLong) return Promise.reject(tooLong);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': ctx.headers['content-type'] },
      preservePath: limits.preservePath ?? false,
      limits: {
        fileSize: limits.fileBytes,
        files: limits.files,
        fields: limits.fields,
        fieldSize: limits.fieldBytes ?? 1024 * 1024,
        parts: limits.files + limits.fields,
      },
    });
  } catch (err) {
    const failure = badRequest(`malformed multipart request: ${(err as Error).message}`);
    ctx.body.fail(failure);
    return Promise.reject(failure);
  }

  return new Promise<MultipartBody>((resolve, reject) => {
    const files: UploadedFile[] = [];
    const fields: Record<string, string> = {};
    let settled = false;
    const fail = (err: SightlineError) => {
      if (settled) return;
      settled = true;
      // No destroy here: this can run inside busboy's own write callback. Nothing more is fed to the
      // parser once settled, and its listeners stay attached so late errors are swallowed.
      ctx.body.fail(err);
      reject(err);
    };

    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      let size = 0;
      // busboy also errors the open file stream when the form breaks; the parser's error reports it.
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        chunks.push(chunk);
      });
      stream.on('limit', () => fail(payloadTooLarge(`file ${JSON.stringify(info.filename ?? field)} exceeds the limit of ${limits.fileBytes} bytes`)));
      stream.on('end', () => {
        if (settled) return;
        files.push({ field, filename: info.filename ?? '', mediaType: info.mimeType, bytes: Buffer.concat(chunks, size) });
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(payloadTooLarge(`field ${JSON.stringify(name)} exceeds the limit of ${limits.fieldBytes ?? 1024 * 1024} bytes`));
      fields[name] = value;
    });
    parser.on('filesLimit', () => fail(payloadTooLarge(`too many files: at most ${limits.files} per request`)));
    parser.on('fieldsLimit', () => fail(payloadTooLarge(`too many fields: at most ${limits.fields} per request`)));
    parser.on('partsLimit', () => fail(payloadTooLarge(`too many parts: at most ${limits.files + limits.fields} per request`)));
    parser.on('error', (err: Error) => fail(badRequest(`malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      resolve({ files, fields });
    });

    ctx.body.pipe({
      data: (chunk) => {
        if (settled) return true;
        // busboy hands slices of what it is given to file streams read later: give it its own copy.
        const more = parser.write(Buffer.from(chunk));
        if (!more) parser.once('drain', () => ctx.body.resume());
        return more;
      },
      end: () => {
        if (!settled) parser.end();
      },
      error: (err) => {
        if (settled) return;
        settled = true;
        reject(err);
      },
    });
  });
}
