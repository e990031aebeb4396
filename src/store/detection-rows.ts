import { badRequest } from '../errors.js';
import { parseSha256 } from './content-hash.js';
import { fromJsonText, toJsonText } from './json-text.js';
import type { DetectionsTable } from './schema.js';

/** [x1, y1, x2, y2] in the source image's pixel space. */
export type Box = [number, number, number, number];

export interface DetectionInput {
  cameraId: string;
  trackId: string;
  label: string;
  /** 0 to 1. */
  confidence: number;
  box?: Box | null;
  /** Epoch milliseconds, a non-negative integer. */
  detectedAt: number;
  imageSha256?: string | null;
  /** Any JSON value. */
  meta?: unknown;
  /** Any JSON value: the result of a model run that checked the detection. */
  verify?: unknown;
}

export interface Detection {
  id: string;
  cameraId: string;
  trackId: string;
  label: string;
  confidence: number;
  box: Box | null;
  detectedAt: number;
  imageSha256: string | null;
  meta: unknown;
  verify: unknown;
  createdAt: number;
}

function fail(index: number, field: string, rule: string): never {
  throw badRequest(`detections[${index}].${field} ${rule}`, { index, field });
}

/** A lone surrogate has no UTF-8 form: SQLite and MySQL would each store something else. */
const LONE_SURROGATE = /\p{Surrogate}/u;

function text(value: unknown, index: number, field: string): string {
  // 255 characters are code points, as VARCHAR(255) in utf8mb4 counts them: an emoji is one, not two UTF-16 units.
  if (typeof value !== 'string' || value === '' || (value.length > 255 && (value.length > 510 || [...value].length > 255))) {
    fail(index, field, 'must be a non-empty string of at most 255 characters');
  }
  if (LONE_SURROGATE.test(value)) fail(index, field, 'contains a lone UTF-16 surrogate (not a Unicode character)');
  return value;
}

/**
 * Checks one input and turns it into a row. The HTTP layer validates requests; this is
 * the last line, so a wrong type never reaches the database as something else.
 */
export function toDetectionRow(input: DetectionInput, index: number, id: string, createdAt: number): DetectionsTable {
  if (typeof input !== 'object' || input === null) fail(index, '', 'must be an object');
  const confidence = input.confidence;
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) {
    fail(index, 'confidence', 'must be a number from 0 to 1');
  }
  const detectedAt = input.detectedAt;
  if (typeof detectedAt !== 'number' || !Number.isSafeInteger(detectedAt) || detectedAt < 0) {
    fail(index, 'detectedAt', 'must be epoch milliseconds (a non-negative integer)');
  }
  let box: Box | null = null;
  if (input.box !== undefined && input.box !== null) {
    const b = input.box;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      fail(index, 'box', 'must be [x1, y1, x2, y2] with finite numbers');
    }
    box = [b[0], b[1], b[2], b[3]];
  }
  const image = input.imageSha256;
  let imageSha256: string | null = null;
  if (image !== undefined && image !== null) {
    try {
      imageSha256 = parseSha256(image, 'imageSha256');
    } catch {
      fail(index, 'imageSha256', 'must be a SHA-256 hash: 64 hexadecimal digits');
    }
  }
  let meta: string | null;
  let verify: string | null;
  try {
    meta = toJsonText(input.meta, 'meta');
  } catch {
    fail(index, 'meta', 'must be serialisable as JSON');
  }
  try {
    verify = toJsonText(input.verify, 'verify');
  } catch {
    fail(index, 'verify', 'must be serialisable as JSON');
  }
  return {
    id,
    camera_id: text(input.cameraId, index, 'cameraId'),
    track_id: text(input.trackId, index, 'trackId'),
    label: text(input.label, index, 'label'),
    confidence,
    box_x1: box?.[0] ?? null,
    box_y1: box?.[1] ?? null,
    box_x2: box?.[2] ?? null,
    box_y2: box?.[3] ?? null,
    detected_at: detectedAt,
    image_sha256: imageSha256,
    meta,
    verify,
    created_at: createdAt,
  };
}

export function toDetection(row: DetectionsTable): Detection {
  const hasBox = row.box_x1 !== null && row.box_y1 !== null && row.box_x2 !== null && row.box_y2 !== null;
  return {
    id: row.id,
    cameraId: row.camera_id,
    trackId: row.track_id,
    label: row.label,
    confidence: Number(row.confidence),
    box: hasBox ? [Number(row.box_x1), Number(row.box_y1), Number(row.box_x2), Number(row.box_y2)] : null,
    detectedAt: Number(row.detected_at),
    imageSha256: row.image_sha256,
    meta: fromJsonText(row.meta),
    verify: fromJsonText(row.verify),
    createdAt: Number(row.created_at),
  };
}
