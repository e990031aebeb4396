/**
 * Table shapes as the database returns them. Timestamps are epoch milliseconds
 * (BIGINT), JSON is stored as text: both mean the same on SQLite and MySQL.
 */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BlobsTable {
  sha256: string;
  bytes: number;
  media_type: string;
  width: number | null;
  height: number | null;
  created_at: number;
}

export interface JobsTable {
  id: string;
  model: string;
  image_sha256: string;
  status: JobStatus;
  idempotency_key: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  error: string | null;
  /** Times a replica claimed it; 1 for a job that ran once. */
  attempts: number;
  /** The replica id running it, while `running`. */
  lease_owner: string | null;
  /** Epoch ms after which another replica may take it over. */
  lease_expires_at: number | null;
}

/** A blob's bytes in the database: chunk `seq` (0, 1, …) of the blob `sha256`. */
export interface BlobChunksTable {
  sha256: string;
  seq: number;
  data: Uint8Array;
}

export interface DetectionsTable {
  id: string;
  camera_id: string;
  track_id: string;
  label: string;
  confidence: number;
  box_x1: number | null;
  box_y1: number | null;
  box_x2: number | null;
  box_y2: number | null;
  detected_at: number;
  image_sha256: string | null;
  meta: string | null;
  verify: string | null;
  created_at: number;
}

export type EvaluationStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface EvaluationsTable {
  id: string;
  model: string;
  model_version: number | null;
  task: string;
  dataset: string;
  layout: string;
  status: EvaluationStatus;
  /** Images evaluated so far, and in all. */
  done: number;
  total: number;
  /** Dataset entries reported and left out (annotations, then unreadable images). */
  problems: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  summary: string | null;
  report: string | null;
  error: string | null;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

export interface StoreSchema {
  blobs: BlobsTable;
  blob_chunks: BlobChunksTable;
  jobs: JobsTable;
  detections: DetectionsTable;
  evaluations: EvaluationsTable;
}
