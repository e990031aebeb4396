import type { Job, JobStatus } from '../store/index.js';

/** A job as clients see it in listings, status answers and events; the result has its own route. */
export interface JobView {
  id: string;
  model: string;
  status: JobStatus;
  imageSha256: string;
  idempotencyKey: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export function jobView(job: Job): JobView {
  return {
    id: job.id,
    model: job.model,
    status: job.status,
    imageSha256: job.imageSha256,
    idempotencyKey: job.idempotencyKey,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    error: job.error,
  };
}
