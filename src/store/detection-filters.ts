import type { SelectQueryBuilder } from 'kysely';
import { badRequest } from '../errors.js';
import type { StoreSchema } from './schema.js';

/** Which detections a listing or a stats query covers. `since` is inclusive, `until` exclusive. */
export interface DetectionFilter {
  cameraId?: string;
  trackId?: string;
  label?: string;
  since?: number;
  until?: number;
}

function checkText(value: unknown, field: string): string {
  // 255 characters are code points, as VARCHAR(255) in utf8mb4 counts them: an emoji is one, not two UTF-16 units.
  if (typeof value !== 'string' || value === '' || (value.length > 255 && (value.length > 510 || [...value].length > 255))) {
    throw badRequest(`${field} must be a non-empty string of at most 255 characters`, { field });
  }
  return value;
}

function checkTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw badRequest(`${field} must be epoch milliseconds (an integer)`, { field });
  }
  return value;
}

export function applyDetectionFilter<O>(
  query: SelectQueryBuilder<StoreSchema, 'detections', O>,
  filter: DetectionFilter,
): SelectQueryBuilder<StoreSchema, 'detections', O> {
  let q = query;
  if (filter.cameraId !== undefined) q = q.where('camera_id', '=', checkText(filter.cameraId, 'cameraId'));
  if (filter.trackId !== undefined) q = q.where('track_id', '=', checkText(filter.trackId, 'trackId'));
  if (filter.label !== undefined) q = q.where('label', '=', checkText(filter.label, 'label'));
  if (filter.since !== undefined) q = q.where('detected_at', '>=', checkTime(filter.since, 'since'));
  if (filter.until !== undefined) q = q.where('detected_at', '<', checkTime(filter.until, 'until'));
  return q;
}
