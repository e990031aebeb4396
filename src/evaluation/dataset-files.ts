import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { badRequest, notFound } from '../errors.js';

/**
 * The files of a dataset, wherever they are: a folder under the datasets directory or an
 * archive held in memory. Paths are relative, `/`-separated, sorted.
 */
export interface DatasetFiles {
  /** The folder name, or what the upload was called. */
  readonly name: string;
  readonly paths: readonly string[];
  has(file: string): boolean;
  read(file: string): Promise<Buffer>;
}

/** A dataset bigger than this is refused whole rather than half read. */
export const MAX_DATASET_FILES = 200_000;
const MAX_DEPTH = 16;

/** A dataset's folder name: one path segment, no dot first (so no `..`, no hidden folders). */
export const DATASET_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Names that are never data: hidden files, and what macOS adds to archives. */
const skipped = (name: string) => name.startsWith('.') || name === '__MACOSX' || name === 'Thumbs.db';

class MemoryFiles implements DatasetFiles {
  readonly paths: readonly string[];
  constructor(
    readonly name: string,
    private readonly files: ReadonlyMap<string, Buffer>,
  ) {
    this.paths = [...files.keys()].sort();
  }
  has(file: string): boolean {
    return this.files.has(file);
  }
  read(file: string): Promise<Buffer> {
    const bytes = this.files.get(file);
    return bytes === undefined ? Promise.reject(new Error(`${file}: not in the dataset`)) : Promise.resolve(bytes);
  }
}

/** Files already in memory (an unpacked upload). Hidden files and folders are left out. */
export function memoryFiles(name: string, files: ReadonlyMap<string, Buffer>): DatasetFiles {
  const kept = new Map<string, Buffer>();
  for (const [file, bytes] of files) {
    if (file.split('/').some(skipped)) continue;
    kept.set(file, bytes);
  }
  return new MemoryFiles(name, kept);
}

class FolderFiles implements DatasetFiles {
  private readonly set: ReadonlySet<string>;
  constructor(
    readonly name: string,
    private readonly root: string,
    readonly paths: readonly string[],
  ) {
    this.set = new Set(paths);
  }
  has(file: string): boolean {
    return this.set.has(file);
  }
  read(file: string): Promise<Buffer> {
    if (!this.set.has(file)) return Promise.reject(new Error(`${file}: not in the dataset`));
    return readFile(path.join(this.root, ...file.split('/')));
  }
}

const inside = (root: string, target: string) => target === root || target.startsWith(root + path.sep);

/**
 * A folder named `name` directly under `datasetsDir`. Symbolic links are followed only where
 * they stay inside the datasets directory; a dataset never reads anything outside it.
 */
export async function folderFiles(datasetsDir: string, name: string): Promise<DatasetFiles> {
  if (!DATASET_NAME.test(name)) {
    throw badRequest('dataset: a folder name of letters, digits, ".", "_" or "-" (not starting with "."), directly under the datasets directory', {
      field: 'dataset',
    });
  }
  let base: string;
  try {
    base = await realpath(datasetsDir);
  } catch {
    throw notFound(`dataset ${name} not found (the datasets directory does not exist)`);
  }
  let root: string;
  try {
    root = await realpath(path.join(base, name));
    if (!inside(base, root) || !(await stat(root)).isDirectory()) throw new Error('not a folder inside');
  } catch {
    throw notFound(`dataset ${name} not found`);
  }
  const paths: string[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (skipped(entry.name)) continue;
      const full = path.join(dir, entry.name);
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await realpath(full).catch(() => undefined);
        if (target === undefined || !inside(base, target)) continue;
        const s = await stat(target);
        isDir = s.isDirectory();
        isFile = s.isFile();
      }
      if (isDir) await walk(full, rel, depth + 1);
      else if (isFile) {
        paths.push(rel);
        if (paths.length > MAX_DATASET_FILES) throw badRequest(`dataset ${name} has more than ${MAX_DATASET_FILES} files`, { field: 'dataset' });
      }
    }
  };
  await walk(root, '', 0);
  paths.sort();
  return new FolderFiles(name, root, paths);
}

/** The dataset folders directly under the datasets directory, sorted; none when it does not exist. */
export async function datasetNames(datasetsDir: string): Promise<string[]> {
  let entries;
  try {
    if (!(await lstat(datasetsDir)).isDirectory()) return [];
    entries = await readdir(datasetsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const base = await realpath(datasetsDir);
  const names: string[] = [];
  for (const entry of entries) {
    if (!DATASET_NAME.test(entry.name)) continue;
    if (entry.isDirectory()) names.push(entry.name);
    else if (entry.isSymbolicLink()) {
      // Listed only where folderFiles would open it: a folder inside the datasets directory.
      const target = await realpath(path.join(base, entry.name)).catch(() => undefined);
      if (target !== undefined && inside(base, target) && (await stat(target)).isDirectory()) names.push(entry.name);
    }
  }
  return names.sort();
}
