import { expect, it, onTestFinished } from 'vitest';
import { type DetectionInput, openStore } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase, freshDatabase } from './helpers/databases.js';

async function open(target: DatabaseTarget, options: { groupCommitMs?: number; maxGroupSize?: number } = {}) {
  const db = await freshDatabase(target);
  const commits: number[] = [];
  const latencies: number[] = [];
  const store = await openStore({
    url: db.url,
    dataDir: db.dataDir,
    ...options,
    onCommit: ({ writes, latencyMs }) => {
      commits.push(writes);
      latencies.push(latencyMs);
    },
  });
  onTestFinished(() => store.close());
  return { store, commits, latencies };
}

const detection = (i: number): DetectionInput => ({
  cameraId: `cam-${i % 4}`,
  trackId: `t-${i}`,
  label: 'car',
  confidence: 0.5,
  detectedAt: 1_700_000_000_000 + i,
});

async function countDetections(store: Awaited<ReturnType<typeof open>>['store']): Promise<number> {
  const row = await store.db
    .selectFrom('detections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describeEachDatabase('group commit', (target) => {
  it('commits 200 concurrent writes in far fewer transactions, each durable before it resolves', async () => {
    const { store, commits, latencies } = await open(target);
    const before = store.writer.counters();
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => store.detections.insertMany([detection(i)])));
    const after = store.writer.counters();

    const groups = after.groupsCommitted - before.groupsCommitted;
    expect(after.writesCommitted - before.writesCommitted).toBe(200);
    expect(groups).toBeGreaterThanOrEqual(1);
    expect(groups).toBeLessThanOrEqual(10);
    expect(after.writesFailed).toBe(0);
    expect(after.groupsRetried).toBe(0);
    expect(after.pending).toBe(0);
    expect(commits.slice(-groups).reduce((a, b) => a + b, 0)).toBe(200);

    const flat = ids.flat();
    expect(new Set(flat).size).toBe(200);
    for (const [i, id] of flat.entries()) {
      expect((await store.detections.get(id))?.trackId).toBe(`t-${i}`);
    }
    expect(await countDetections(store)).toBe(200);

    // The observer (the metrics histogram's feed) hears one latency per transaction.
    expect(latencies).toHaveLength(after.groupsCommitted);
    expect(latencies.every((ms) => ms > 0)).toBe(true);
  });

  it('keeps grouping while a commit is in flight', async () => {
    const { store } = await open(target);
    const before = store.writer.counters();
    const waves: Promise<string[]>[] = [];
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 40; i++) waves.push(store.detections.insertMany([detection(wave * 40 + i)]));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect((await Promise.all(waves)).flat()).toHaveLength(200);
    const after = store.writer.counters();
    expect(after.writesCommitted - before.writesCommitted).toBe(200);
    expect(after.groupsCommitted - before.groupsCommitted).toBeLessThanOrEqual(20);
    expect(await countDetections(store)).toBe(200);
  });

  it('splits groups at maxGroupSize', async () => {
    const { store, commits } = await open(target, { groupCommitMs: 50, maxGroupSize: 16 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.detections.insertMany([detection(i)])));
    expect(commits).toEqual([16, 16, 8]);
  });

  it('commits every write on its own when groupCommitMs is 0', async () => {
    const { store, commits } = await open(target, { groupCommitMs: 0 });
    const before = store.writer.counters();
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.detections.insertMany([detection(i)])));
    const after = store.writer.counters();
    expect(after.groupsCommitted - before.groupsCommitted).toBe(30);
    expect(after.writesCommitted - before.writesCommitted).toBe(30);
    expect(commits.every((n) => n === 1)).toBe(true);
    expect(await countDetections(store)).toBe(30);
  });

  it('fails one bad write alone and commits the rest of its group', async () => {
    const { store } = await open(target, { groupCommitMs: 20 });
    const before = store.writer.counters();
    const good = Array.from({ length: 20 }, (_, i) => store.detections.insertMany([detection(i)]));
    // A write the database refuses (NOT NULL), submitted in the middle of the group.
    const bad = store.writer.write((trx) =>
      trx
        .insertInto('detections')
        .values({
          id: '00000000-0000-7000-8000-000000000001',
          camera_id: 'cam-x',
          track_id: 't',
          label: null as unknown as string,
          confidence: 0.5,
          detected_at: 1,
          created_at: 1,
        })
        .execute(),
    );
    const more = Array.from({ length: 20 }, (_, i) => store.detections.insertMany([detection(100 + i)]));
    // An expected refusal (unknown job) is an answer, not a failed group.
    const missingJob = store.jobs.markRunning('00000000-0000-7000-8000-000000000002');

    const settled = await Promise.allSettled([...good, bad, ...more, missingJob]);
    const outcomes = settled.map((s) => s.status);
    expect(outcomes.filter((s) => s === 'fulfilled')).toHaveLength(40);
    expect(settled[20]).toMatchObject({ status: 'rejected' });
    expect(settled[41]).toMatchObject({ status: 'rejected', reason: { status: 404 } });

    const after = store.writer.counters();
    expect(after.groupsRetried - before.groupsRetried).toBe(1);
    expect(after.writesFailed - before.writesFailed).toBe(1);
    expect(after.writesCommitted - before.writesCommitted).toBe(41);
    expect(await countDetections(store)).toBe(40);
    expect(await store.detections.get('00000000-0000-7000-8000-000000000001')).toBeUndefined();
  });

  it('rolls back every statement of a refused write', async () => {
    const { store } = await open(target);
    const [existing] = await store.detections.insertMany([detection(1)]);
    // Reusing an id inside one write: the database refuses the second row, so neither is kept.
    const row = (id: string) => ({ id, camera_id: 'c', track_id: 't', label: 'car', confidence: 0.1, detected_at: 5, created_at: 5 });
    const duplicate = store.writer.write(async (trx) => {
      await trx.insertInto('detections').values(row('00000000-0000-7000-8000-0000000000aa')).execute();
      await trx.insertInto('detections').values(row(existing)).execute();
    });
    await expect(duplicate).rejects.toBeDefined();
    expect(await store.detections.get('00000000-0000-7000-8000-0000000000aa')).toBeUndefined();
    expect(await countDetections(store)).toBe(1);
  });
});
