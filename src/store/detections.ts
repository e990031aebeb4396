import type { Kysely } from 'kysely';
import { type DetectionFilter, applyDetectionFilter } from './detection-filters.js';
import { type Detection, type DetectionInput, toDetection, toDetectionRow } from './detection-rows.js';
import { type DetectionStats, type DetectionStatsQuery, detectionStats } from './detection-stats.js';
import type { GroupCommitWriter } from './group-commit.js';
import { newId } from './ids.js';
import { type Page, pageRequest, readPage } from './pagination.js';
import { deleteById, getById } from './rows-by-id.js';
import type { DetectionsTable, StoreSchema } from './schema.js';
import { badRequest } from '../errors.js';

export interface ListDetectionsQuery extends DetectionFilter {
  /** 1 to 1000, default 50. */
  limit?: number;
  cursor?: string | null;
}

export interface DetectionRepository {
  /** Stores the rows in one write (all or none); resolves with their ids, in input order, once durable. */
  insertMany(rows: DetectionInput[]): Promise<string[]>;
  get(id: string): Promise<Detection | undefined>;
  delete(id: string): Promise<boolean>;
  /** Ordered by detectedAt, then id, both descending. */
  list(query?: ListDetectionsQuery): Promise<Page<Detection>>;
  stats(query: DetectionStatsQuery): Promise<DetectionStats>;
}

/** Rows per INSERT statement: 14 parameters each stays far below both databases' limits. */
const INSERT_CHUNK = 500;
export const MAX_DETECTIONS_PER_INSERT = 10_000;

export function createDetectionRepository(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): DetectionRepository {
  return {
    async insertMany(inputs) {
      if (!Array.isArray(inputs)) throw badRequest('detections must be an array');
      if (inputs.length > MAX_DETECTIONS_PER_INSERT) {
        throw badRequest(`at most ${MAX_DETECTIONS_PER_INSERT} detections per insert`);
      }
      if (inputs.length === 0) return [];
      const createdAt = Date.now();
      const rows: DetectionsTable[] = inputs.map((input, i) => toDetectionRow(input, i, newId(), createdAt));
      await writer.write(async (trx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await trx
            .insertInto('detections')
            .values(rows.slice(i, i + INSERT_CHUNK))
            .execute();
        }
      });
      return rows.map((r) => r.id);
    },

    get(rawId) {
      return getById(db, 'detections', rawId, toDetection);
    },

    delete(rawId) {
      return deleteById(writer, 'detections', rawId);
    },

    async list(query = {}) {
      const page = pageRequest('detections', query);
      return readPage(applyDetectionFilter(db.selectFrom('detections').selectAll(), query), 'detected_at', page, toDetection);
    },

    stats(query) {
      return detectionStats(db, query);
    },
  };
}
