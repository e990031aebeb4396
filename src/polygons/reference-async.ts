import { Worker } from 'node:worker_threads';

import { readRequest } from './request.js';
import type { PackedRegions, PolygonInput, PolygonOptions } from './types.js';

/**
 * findPolygonsAsync for the TypeScript implementation: validation happens on the caller's thread
 * (so bad arguments reject exactly as with the addon), the work in one lazily started worker
 * thread. Unlike the addon, the input is copied to that thread.
 */

interface Reply {
  id: number;
  packed?: PackedRegions;
  error?: { name: string; message: string };
}

interface Pending {
  resolve: (packed: PackedRegions) => void;
  reject: (error: Error) => void;
}

const pending = new Map<number, Pending>();
let worker: Worker | null = null;
let nextId = 1;

function rebuildError({ name, message }: { name: string; message: string }): Error {
  if (name === 'TypeError') return new TypeError(message);
  if (name === 'RangeError') return new RangeError(message);
  return new Error(message);
}

function failAll(error: Error): void {
  for (const job of pending.values()) job.reject(error);
  pending.clear();
  worker = null;
}

function startWorker(): Worker {
  const w = new Worker(new URL('./reference-worker.js', import.meta.url));
  w.on('message', (reply: Reply) => {
    const job = pending.get(reply.id);
    if (job === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) w.unref(); // an idle worker must not keep the process alive
    if (reply.error !== undefined) job.reject(rebuildError(reply.error));
    else job.resolve(reply.packed!);
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', (code) => {
    if (worker === w) failAll(new Error(`polygon worker exited with code ${code}`));
  });
  return w;
}

export function findPolygonsPackedAsync(input: PolygonInput, options?: PolygonOptions): Promise<PackedRegions> {
  let request;
  try {
    request = readRequest(input, options);
  } catch (err) {
    return Promise.reject(err);
  }
  worker ??= startWorker();
  worker.ref();
  const id = nextId++;
  const promise = new Promise<PackedRegions>((resolve, reject) => pending.set(id, { resolve, reject }));
  worker.postMessage({ id, request });
  return promise;
}
