import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CalibrationFigures } from './calibration.js';

const CACHE_FILE = 'calibration.json';
/** Bumped when the figures' shape changes: older files are then measured again. */
const CACHE_VERSION = 1;

interface CacheFile {
  version: number;
  entries: Record<string, { model: string; measuredAt: string; figures: CalibrationFigures }>;
}

/**
 * Calibration figures kept across restarts in `<dataDir>/calibration.json` (in memory only without
 * a data dir). Writes are serialised and atomic (a temporary file renamed over the old one); a
 * missing or unreadable file is an empty cache.
 */
export class CalibrationCache {
  private readonly file: string | undefined;
  private readonly memory = new Map<string, CalibrationFigures>();
  private writes: Promise<void> = Promise.resolve();

  constructor(dataDir: string | undefined) {
    this.file = dataDir === undefined ? undefined : path.join(dataDir, CACHE_FILE);
  }

  async get(key: string): Promise<CalibrationFigures | undefined> {
    const hit = this.memory.get(key);
    if (hit !== undefined) return hit;
    const figures = (await this.read()).entries[key]?.figures;
    if (figures !== undefined) this.memory.set(key, figures);
    return figures;
  }

  put(key: string, model: string, figures: CalibrationFigures): Promise<void> {
    this.memory.set(key, figures);
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    const write = this.writes.then(async () => {
      const current = await this.read();
      current.entries[key] = { model, measuredAt: new Date().toISOString(), figures };
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(current, null, 2));
      await rename(tmp, file);
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  private async read(): Promise<CacheFile> {
    if (this.file === undefined) return { version: CACHE_VERSION, entries: {} };
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as CacheFile;
      if (parsed.version === CACHE_VERSION && parsed.entries !== null && typeof parsed.entries === 'object') return parsed;
    } catch {
      /* missing or damaged: measured again */
    }
    return { version: CACHE_VERSION, entries: {} };
  }
}
