/**
 * Replicas behind HAProxy (bench/replica-set.ts) wired the way a deployment is: one fresh MariaDB
 * database, one NATS subject and one Redis prefix of their own, blobs in the database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Replica, type ReplicaSet, startReplicaSet } from '../../dist/bench/replica-set.js';
import { createScratchDatabase } from '../../dist/src/store/scratch-database.js';
import { MYSQL_URL_ENV } from './databases.js';
import { repoRoot } from './server.js';
import { NATS_URL, REDIS_URL, uniqueName } from './services.js';

export { waitForAllReplicas } from '../../dist/bench/replica-set.js';
export type { Replica };

export interface ClusterOptions {
  replicas: number;
  /** Settings for every replica, over the cluster's own. */
  env?: Record<string, string>;
  /** Sent when checking that the balancer reaches every replica (an API key when keys are on). */
  headers?: Record<string, string>;
}

export interface Cluster extends ReplicaSet {
  /** The scratch database every replica shares. */
  readonly databaseUrl: string;
  readonly eventsSubject: string;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  // Every machine of the project runs MariaDB there; the env var points elsewhere.
  const database = await createScratchDatabase(process.env[MYSQL_URL_ENV] || 'mysql://root@127.0.0.1:3306/test', 'sightline_cluster_');
  const eventsSubject = uniqueName('sightline.test.');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cluster-'));
  const cleanUp = async () => {
    await database.drop().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  };
  let set: ReplicaSet;
  try {
    set = await startReplicaSet({
      replicas: options.replicas,
      workDir,
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      env: {
        SIGHTLINE_DATABASE_URL: database.url,
        SIGHTLINE_BLOBS: 'database',
        SIGHTLINE_EVENTS_URL: NATS_URL,
        SIGHTLINE_EVENTS_SUBJECT: eventsSubject,
        SIGHTLINE_RATE_LIMIT_URL: REDIS_URL,
        SIGHTLINE_MODELS_DIR: path.join(repoRoot, 'models'),
        SIGHTLINE_MODELS: 'text-direction',
        SIGHTLINE_CALIBRATE: 'false',
        SIGHTLINE_DRAIN_MS: '3000',
        SIGHTLINE_JOB_LEASE_MS: '3000',
        ...options.env,
      },
    });
  } catch (err) {
    await cleanUp();
    throw err;
  }
  return {
    ...set,
    replicas: set.replicas,
    url: set.url,
    databaseUrl: database.url,
    eventsSubject,
    async close() {
      await set.close();
      await cleanUp();
    },
  };
}
