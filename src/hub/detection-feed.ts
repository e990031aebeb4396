import type { Logger } from '../logger.js';
import type { Detection, Store } from '../store/index.js';
import { toDetection } from '../store/detection-rows.js';
import type { ArrivedEvent, EventStream } from './event-stream.js';
import { EventName, publishDetection, publishDetectionDeleted } from './events.js';
import { cameraTopic, DETECTIONS_TOPIC } from './topics.js';

/** Ids per read-back query: far below both databases' parameter limits. */
const READ_CHUNK = 500;

/** Code told of every stored and deleted detection (a service profile's own sockets). */
export interface DetectionListener {
  /** False while the listener has nobody to tell: stored rows are then not read back for it. */
  listening?(): boolean;
  stored?(detections: readonly Detection[]): void;
  deleted?(detection: { id: string; cameraId: string }): void;
}

/**
 * Publishes detections once they are committed. The rows are read back, so subscribers get
 * exactly what GET /v1/detections/{id} returns (createdAt included); nothing is read when
 * nobody listens, here or (while the event bus is connected) on another replica.
 */
export class DetectionFeed {
  private readonly pending = new Set<Promise<void>>();
  private readonly listeners = new Set<DetectionListener>();

  constructor(
    private readonly stream: EventStream,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {
    // Other replicas' detections reach this replica's listeners too (a profile's sockets are subscribers).
    stream.onRemote((message) => this.remote(message));
  }

  /** Adds a listener; the returned function removes it. */
  listen(listener: DetectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after the commit; does not delay the reply. */
  announce(ids: readonly string[], cameraIds: readonly string[]): void {
    if (ids.length === 0) return;
    const listened = [...this.listeners].some((l) => l.listening?.() ?? true) || this.stream.wanted([DETECTIONS_TOPIC, ...cameraIds.map(cameraTopic)]);
    if (!listened) return;
    const task = this.read(ids).then(
      (rows) => {
        for (const row of rows) publishDetection(this.stream, row);
        for (const listener of this.listeners) listener.stored?.(rows);
      },
      (err: unknown) => this.logger.warn({ err: (err as Error)?.message, count: ids.length }, 'could not publish stored detections'),
    );
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /**
   * Deletes a detection and, once the delete is committed, publishes `detection.deleted` where the
   * detection was announced; false when there was none.
   */
  async remove(id: string): Promise<boolean> {
    const detection = await this.store.detections.get(id);
    if (detection === undefined || !(await this.store.detections.delete(detection.id))) return false;
    const deleted = { id: detection.id, cameraId: detection.cameraId };
    publishDetectionDeleted(this.stream, deleted);
    for (const listener of this.listeners) listener.deleted?.(deleted);
    return true;
  }

  /** Resolves when every announcement under way has been published (shutdown waits for it). */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /**
   * A detection event from another replica, for the listeners (its subscribers were served by the
   * stream): the data was parsed once on arrival and is what GET answers on the replica that stored it.
   */
  private remote(message: ArrivedEvent): void {
    const { value } = message;
    if (this.listeners.size === 0 || typeof value !== 'object' || value === null) return;
    if (message.event === EventName.detectionCreated) {
      const detection = value as Detection;
      for (const listener of this.listeners) if (listener.listening?.() ?? true) listener.stored?.([detection]);
    } else if (message.event === EventName.detectionDeleted) {
      const { id, cameraId } = value as { id: string; cameraId: string };
      for (const listener of this.listeners) listener.deleted?.({ id, cameraId });
    }
  }

  private async read(ids: readonly string[]): Promise<Detection[]> {
    const byId = new Map<string, Detection>();
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      const rows = await this.store.db
        .selectFrom('detections')
        .selectAll()
        .where('id', 'in', ids.slice(i, i + READ_CHUNK))
        .execute();
      for (const row of rows) byId.set(row.id, toDetection(row));
    }
    // In the order they were posted; a row deleted in the meantime is not announced.
    return ids.flatMap((id) => byId.get(id) ?? []);
  }
}
