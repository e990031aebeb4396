import type { Logger } from '../logger.js';
import type { Detection, Store } from '../store/index.js';
import { toDetection } from '../store/detection-rows.js';
import { publishDetection } from './events.js';
import type { Hub } from './hub.js';
import { cameraTopic, DETECTIONS_TOPIC } from './topics.js';

/** Ids per read-back query: far below both databases' parameter limits. */
const READ_CHUNK = 500;

/**
 * Publishes detections once they are committed. The rows are read back, so subscribers get
 * exactly what GET /v1/detections/{id} returns (createdAt included); nothing is read when
 * nobody listens.
 */
export class DetectionFeed {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly hub: Hub,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** Called after the commit; does not delay the reply. */
  announce(ids: readonly string[], cameraIds: readonly string[]): void {
    if (ids.length === 0) return;
    const listened = this.hub.hasSubscribers(DETECTIONS_TOPIC) || cameraIds.some((c) => this.hub.hasSubscribers(cameraTopic(c)));
    if (!listened) return;
    const task = this.read(ids).then(
      (rows) => {
        for (const row of rows) publishDetection(this.hub, row);
      },
      (err: unknown) => this.logger.warn({ err: (err as Error)?.message, count: ids.length }, 'could not publish stored detections'),
    );
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Resolves when every announcement under way has been published (shutdown waits for it). */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
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
