import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Blob files on disk, content-addressed: <root>/ab/cd/<sha256>. A file only ever
 * appears under its final name complete and synced: it is written to <root>/tmp,
 * fsynced, renamed into place, and the directory is fsynced so the rename itself
 * survives a crash. Two-level sharding keeps directories small.
 */
export class BlobFiles {
  private readonly tmpDir: string;

  private constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the directories and removes temp files a crash may have left behind. */
  static async open(root: string): Promise<BlobFiles> {
    const files = new BlobFiles(root);
    await mkdir(files.tmpDir, { recursive: true });
    for (const name of await readdir(files.tmpDir)) {
      await rm(join(files.tmpDir, name), { force: true, recursive: true });
    }
    return files;
  }

  /** Where a blob lives; `sha256` must already be validated. */
  pathFor(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathFor(sha256))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async write(sha256: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
    const handle = await open(tmp, 'wx', 0o644);
    try {
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const shard1 = join(this.root, sha256.slice(0, 2));
      const shard2 = join(shard1, sha256.slice(2, 4));
      if ((await mkdir(shard2, { recursive: true })) !== undefined) {
        // New shard directories must be durable before the file inside them is.
        await syncDirectory(this.root);
        await syncDirectory(shard1);
      }
      await rename(tmp, this.pathFor(sha256));
      await syncDirectory(shard2);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  /** Deletes a blob file; false when there was none. */
  async remove(sha256: string): Promise<boolean> {
    try {
      await unlink(this.pathFor(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    await syncDirectory(join(this.root, sha256.slice(0, 2), sha256.slice(2, 4)));
    return true;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
