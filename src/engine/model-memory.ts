import type { ArenaPolicy } from '../backends/backend.js';
import type { InferReply, LoadMemory, WorkerHeap } from './worker-protocol.js';

/** One instance's memory, as `/v1/models/{name}` reports it. */
export interface InstanceMemory extends WorkerHeap {
  /** Process RSS growth while this instance loaded its model. */
  loadRssBytes: number;
}

/** What can be measured of one model version's memory (see README, "Memory"). */
export interface ModelMemoryReport {
  /** Sum over the instances of the process RSS growth while each loaded its model. */
  rssBytesAtLoad: number;
  /** The model file's size on disk, when it could be read. */
  fileBytes?: number;
  /** The V8 heap of each instance's worker thread, as of its last batch (or its load). */
  instances: InstanceMemory[];
  /** The largest batch run so far and its input tensor: what the runtime's buffers were sized for. */
  largestBatch?: { items: number; inputBytes: number };
  /** How ONNX Runtime keeps its CPU buffers between runs (ONNX models only). */
  arenaPolicy?: ArenaPolicy;
}

/** Collects the memory figures workers send with their load and replies. */
export class ModelMemory {
  private readonly heaps = new Map<number, WorkerHeap>();
  private largest: { items: number; inputBytes: number } | undefined;

  record(reply: InferReply, items: number): void {
    this.heaps.set(reply.heap.threadId, reply.heap);
    if (!this.largest || reply.inputBytes > this.largest.inputBytes) this.largest = { items, inputBytes: reply.inputBytes };
  }

  /** The report for the instances loaded now (a replaced worker's figures are dropped). */
  report(loads: LoadMemory[], fileBytes: number | undefined, arenaPolicy: ArenaPolicy | undefined): ModelMemoryReport {
    const live = new Set(loads.map((l) => l.heap.threadId));
    for (const id of this.heaps.keys()) if (!live.has(id)) this.heaps.delete(id);
    const instances = loads.map((l) => ({ ...(this.heaps.get(l.heap.threadId) ?? l.heap), loadRssBytes: l.rssGrowthBytes }));
    return {
      rssBytesAtLoad: loads.reduce((sum, l) => sum + l.rssGrowthBytes, 0),
      ...(fileBytes !== undefined ? { fileBytes } : {}),
      instances,
      ...(this.largest ? { largestBatch: { ...this.largest } } : {}),
      ...(arenaPolicy ? { arenaPolicy: { ...arenaPolicy } } : {}),
    };
  }
}
