import { parentPort } from 'node:worker_threads';

import { runRequest } from './reference.js';
import type { PolygonRequest } from './request.js';

/** Worker thread that runs the TypeScript implementation for findPolygonsAsync's fallback. */

interface Job {
  id: number;
  request: PolygonRequest;
}

const port = parentPort;
if (port === null) throw new Error('reference-worker.js must run in a worker thread');

port.on('message', ({ id, request }: Job) => {
  try {
    const packed = runRequest(request);
    // The tables were allocated by runRequest, so their buffers are plain ArrayBuffers.
    const buffers = [packed.coords.buffer, packed.rings.buffer, packed.regions.buffer] as ArrayBuffer[];
    port.postMessage({ id, packed }, buffers);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id, error: { name: error.name, message: error.message } });
  }
});
