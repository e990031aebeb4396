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
  /** Times a replica claimed it: 1 when it ran once; more when a replica died or stopped mid-run and another took it over. */
  attempts: number;
  /** The replica id running it while running; the one that finished it once finished; null while queued. */
  replica: string | null;
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
    attempts: job.attempts,
    replica: job.replica,
  };
}
