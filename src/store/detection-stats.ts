import { type Kysely, sql } from 'kysely';
import { badRequest } from '../errors.js';
import { type DetectionFilter, applyDetectionFilter } from './detection-filters.js';
import { type Detection, toDetection } from './detection-rows.js';
import type { StoreSchema } from './schema.js';

export type StatsBucket = 'minute' | 'hour' | 'day';

export interface DetectionStatsQuery extends DetectionFilter {
  bucket: StatsBucket;
  /** How many of the newest detections to include, 0 to 100. */
  latest: number;
}

export interface DetectionStats {
  total: number;
  byLabel: Record<string, number>;
  byCamera: Record<string, number>;
  /** Non-empty buckets only, oldest first; `start` is epoch ms (UTC boundaries). */
  buckets: Array<{ start: number; count: number }>;
  /** Newest first. */
  latest: Detection[];
}

const BUCKET_MS: Record<StatsBucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const MAX_STATS_LATEST = 100;

/**
 * Aggregates in SQL that means the same on SQLite and MySQL: a bucket starts at
 * detected_at - detected_at % size (integer arithmetic on BIGINT, detectedAt is never
 * negative), with the size as a literal so MySQL sees one expression in SELECT and
 * GROUP BY. All queries read one snapshot, so the numbers agree with each other.
 */
export async function detectionStats(db: Kysely<StoreSchema>, query: DetectionStatsQuery): Promise<DetectionStats> {
  if (typeof query?.bucket !== 'string' || !Object.hasOwn(BUCKET_MS, query.bucket)) {
    throw badRequest('bucket must be one of minute, hour, day', { field: 'bucket' });
  }
  const size = BUCKET_MS[query.bucket];
  const latestCount = query.latest;
  if (!Number.isInteger(latestCount) || latestCount < 0 || latestCount > MAX_STATS_LATEST) {
    throw badRequest(`latest must be an integer from 0 to ${MAX_STATS_LATEST}`, { field: 'latest' });
  }
  // Building the filter validates it, before a transaction is opened.
  applyDetectionFilter(db.selectFrom('detections'), query);
  const bucketStart = sql<number>`detected_at - (detected_at % ${sql.lit(size)})`;

  return db.transaction().execute(async (trx) => {
    const scoped = () => applyDetectionFilter(trx.selectFrom('detections'), query);
    const totalRow = await scoped()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const labels = await scoped()
      .select(['label', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('label')
      .orderBy('label')
      .execute();
    const cameras = await scoped()
      .select(['camera_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('camera_id')
      .orderBy('camera_id')
      .execute();
    const buckets = await scoped()
      .select([bucketStart.as('start'), (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(bucketStart)
      .orderBy(bucketStart)
      .execute();
    const latest = latestCount === 0 ? [] : await scoped().selectAll().orderBy('detected_at', 'desc').orderBy('id', 'desc').limit(latestCount).execute();
    return {
      total: Number(totalRow.n),
      byLabel: Object.fromEntries(labels.map((r) => [r.label, Number(r.n)])),
      byCamera: Object.fromEntries(cameras.map((r) => [r.camera_id, Number(r.n)])),
      buckets: buckets.map((r) => ({ start: Number(r.start), count: Number(r.n) })),
      latest: latest.map(toDetection),
    };
  });
}
