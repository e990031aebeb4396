import { gunzipSync } from 'node:zlib';
import { badRequest, payloadTooLarge } from '../errors.js';
import { ArchiveError, ArchiveTooLarge, readTar } from './archive-tar.js';
import { readZip } from './archive-zip.js';
import { type DatasetFiles, MAX_DATASET_FILES, memoryFiles } from './dataset-files.js';
import { detectLayout } from './dataset.js';

export type ArchiveKind = 'tar' | 'zip';

/** A path inside an upload, `/`-separated, with `./` and empty segments dropped; undefined when it climbs out or is absolute. */
function safePath(raw: string): string | undefined {
  const unified = raw.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) return undefined;
  const parts = unified.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..' || p.includes('\0'))) return undefined;
  return parts.join('/');
}

/**
 * An uploaded dataset from its entries. Paths that climb out of the upload (`..`, absolute)
 * refuse it with 400. When everything sits in one top folder (an archive of the folder
 * itself) and a layout fits what is inside it, that folder is the dataset, and its name names
 * the dataset unless one is given; otherwise (one label folder of an ImageFolder set) the
 * folder stays part of the paths.
 */
export function uploadFiles(entries: ReadonlyArray<{ path: string; bytes: Buffer }>, name: string | undefined): DatasetFiles {
  const files = new Map<string, Buffer>();
  for (const entry of entries) {
    const path = safePath(entry.path);
    if (path === undefined) throw badRequest(`upload: the entry ${JSON.stringify(entry.path)} is not a relative path inside the dataset`, { field: 'dataset' });
    files.set(path, entry.bytes);
  }
  if (files.size > MAX_DATASET_FILES) throw badRequest(`upload: more than ${MAX_DATASET_FILES} files`, { field: 'dataset' });
  const paths = [...files.keys()].filter((p) => !p.split('/').some((s) => s.startsWith('.') || s === '__MACOSX'));
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  if (tops.size === 1 && !tops.has('')) {
    const top = [...tops][0];
    const inner = new Map<string, Buffer>();
    for (const p of paths) inner.set(p.slice(top.length + 1), files.get(p)!);
    const dataset = memoryFiles(name ?? top, inner);
    if (detectLayout(dataset) !== undefined) return dataset;
  }
  return memoryFiles(name ?? 'upload', files);
}

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** An archive body (tar, gzip-compressed tar, or zip) as dataset files; `maxBytes` caps what it unpacks to. */
export function archiveFiles(kind: ArchiveKind, body: Buffer, name: string | undefined, maxBytes: number): DatasetFiles {
  try {
    if (kind === 'zip') return uploadFiles(readZip(body, maxBytes), name);
    let tar = body;
    if (isGzip(body)) {
      try {
        tar = gunzipSync(body, { maxOutputLength: maxBytes });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw payloadTooLarge(`upload: the archive unpacks to more than ${maxBytes} bytes`);
        throw new ArchiveError(`gzip: cannot decompress (${(err as Error).message})`);
      }
    }
    return uploadFiles(readTar(tar), name);
  } catch (err) {
    if (err instanceof ArchiveTooLarge) throw payloadTooLarge(`upload: ${err.message}`);
    if (err instanceof ArchiveError) throw badRequest(`upload: ${err.message}`, { field: 'dataset' });
    if (err instanceof RangeError) throw badRequest(`upload: a damaged ${kind} archive`, { field: 'dataset' });
    throw err;
  }
}
