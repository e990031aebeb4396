import { onTestFinished } from 'vitest';
import { type Store, openStore } from '../../dist/src/store/index.js';
import { type DatabaseTarget, freshDatabase } from './databases.js';

/**
 * Two replicas' stores on one fresh database, writes committing one by one so they race for real,
 * closed when the test finishes. On MySQL/MariaDB two stores (two pools). SQLite is one process's
 * file, and its driver blocks the thread while it waits for a lock, so there both owners share one
 * store: the conditional update decides all the same.
 */
export async function twoReplicaStores(target: DatabaseTarget): Promise<{ a: Store; b: Store }> {
  const db = await freshDatabase(target);
  const a = await openStore({ url: db.url, dataDir: db.dataDir, groupCommitMs: 0 });
  onTestFinished(() => a.close());
  let b = a;
  if (target.name === 'mariadb') {
    b = await openStore({ url: db.url, dataDir: db.dataDir, groupCommitMs: 0 });
    onTestFinished(() => b.close());
  }
  return { a, b };
}
