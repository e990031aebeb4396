import type { ImageGeometry } from '../heads/types.js';
import type { SessionInfo } from '../backends/backend.js';
import type { ResampleTarget } from '../imaging/resample.js';

/** One image of a batch as it travels to a worker; `pixels` is transferred, not copied. */
export interface WorkerItem {
  /** Tensor-sized HWC RGB pixels, or with `raster` the decoded image still to be resized. */
  pixels: ArrayBuffer;
  width: number;
  height: number;
  geometry: ImageGeometry;
  raster?: { width: number; height: number; channels: 3 | 4; resample: ResampleTarget };
}

export type WorkerTask = { kind: 'describe' } | { kind: 'infer'; items: WorkerItem[] };

export type ItemOutcome = { ok: true; value: unknown } | { ok: false; error: string; code: string | undefined };

export interface InferReply {
  results: ItemOutcome[];
  /** Milliseconds spent in the worker: filling the batch tensor, running the session, post-processing. */
  timing: { fillMs: number; runMs: number; headMs: number };
}

export interface DescribeReply {
  info: SessionInfo;
  threadId: number;
}
