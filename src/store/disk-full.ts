import { SightlineError, insufficientStorage } from '../errors.js';
import type { StoreLogger } from './logger.js';

/** ENOSPC/EDQUOT from the file system, SQLITE_FULL, and MySQL/MariaDB "disk full" / "table is full". */
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof SightlineError) return err.code === 'insufficient_storage';
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === 'ER_DISK_FULL' || code === 'ER_RECORD_FILE_FULL') return true;
  return errno === 1021 || errno === 1114;
}

/**
 * Turns "no space left" failures into 507 answers and tells the log once per episode:
 * one error when the first write finds the disk full, one line when a write succeeds
 * again, nothing for every refused request in between.
 */
export class DiskSpace {
  private full = false;

  constructor(
    private readonly logger: StoreLogger,
    private readonly what: string,
  ) {}

  /** Runs a write; a full disk becomes a 507 error, any other failure passes through unchanged. */
  async guard<T>(write: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await write();
    } catch (err) {
      if (!isDiskFull(err) || err instanceof SightlineError) throw err;
      if (!this.full) {
        this.full = true;
        this.logger.error({ err: (err as Error).message, storage: this.what }, 'storage is full: writes are refused with 507 until space is freed');
      }
      throw insufficientStorage(`no space left to store this (${this.what}); try again once space is freed`);
    }
    if (this.full) {
      this.full = false;
      this.logger.info({ storage: this.what }, 'storage has space again: writes succeed');
    }
    return value;
  }
}
