import { expect, it, onTestFinished } from 'vitest';
import { type Detection, type DetectionInput, openStore } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase, freshDatabase } from './helpers/databases.js';

async function open(target: DatabaseTarget) {
  const db = await freshDatabase(target);
  const store = await openStore({ url: db.url, dataDir: db.dataDir });
  onTestFinished(() => store.close());
  return store;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 2024-03-10T00:00:00Z */
const T0 = 1_710_028_800_000;

/**
 * 60 detections over three days, three cameras, three labels; several share a
 * timestamp so ordering has to fall back to the id.
 */
function fixture(): DetectionInput[] {
  const labels = ['car', 'person', 'truck'];
  const rows: DetectionInput[] = [];
  for (let i = 0; i < 60; i++) {
    rows.push({
      cameraId: `cam-${i % 3}`,
      trackId: `track-${i % 7}`,
      label: labels[Math.floor(i / 3) % 3],
      confidence: Math.round(((i % 10) / 10 + 0.05) * 1000) / 1000,
      box: i % 4 === 0 ? null : [i, i + 0.5, i + 10.25, i + 20],
      // Days 0 to 2, five hours a day, two minutes an hour: every timestamp is shared by two rows.
      detectedAt: T0 + Math.floor(i / 20) * DAY + (i % 5) * HOUR + Math.floor((i % 20) / 10) * 7 * MINUTE + 1234,
      ...(i % 6 === 0 ? { imageSha256: 'ab'.repeat(32) } : {}),
      ...(i % 2 === 0 ? { meta: { zone: `z${i % 4}`, tags: ['a', i] } } : {}),
      ...(i % 5 === 0 ? { verify: { model: 'cls', label: 'car', score: 0.5 } } : {}),
    });
  }
  return rows;
}

interface Stored {
  id: string;
  input: DetectionInput;
}

const newestFirst = (a: Stored, b: Stored) => b.input.detectedAt - a.input.detectedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function expectMatches(actual: Detection, expected: Stored) {
  const e = expected.input;
  expect(actual).toEqual({
    id: expected.id,
    cameraId: e.cameraId,
    trackId: e.trackId,
    label: e.label,
    confidence: e.confidence,
    box: e.box ?? null,
    detectedAt: e.detectedAt,
    imageSha256: e.imageSha256 ?? null,
    meta: e.meta ?? null,
    verify: e.verify ?? null,
    createdAt: expect.any(Number),
  });
}

async function insertFixture(store: Awaited<ReturnType<typeof open>>): Promise<Stored[]> {
  const inputs = fixture();
  // Several writes at once, as cameras would send them.
  const chunks = [inputs.slice(0, 20), inputs.slice(20, 35), inputs.slice(35)];
  const idChunks = await Promise.all(chunks.map((c) => store.detections.insertMany(c)));
  const ids = idChunks.flat();
  expect(ids).toHaveLength(60);
  expect(new Set(ids).size).toBe(60);
  return inputs.map((input, i) => ({ id: ids[i], input }));
}

describeEachDatabase('detections', (target) => {
  it('stores, reads back and deletes detections with every field', async () => {
    const store = await open(target);
    const full = {
      cameraId: 'gate-1',
      trackId: '17',
      label: 'car',
      confidence: 0.8765432109876543,
      box: [10.5, 20.25, 110.125, 220] as [number, number, number, number],
      detectedAt: T0 + 42,
      imageSha256: 'AB'.repeat(32),
      meta: { plate: 'KA-01', speed: 42.5, nested: { ok: true } },
      verify: { model: 'cls', label: 'car', score: 0.99 },
    };
    // Taken before the insert, so the comparison below does not see anything the store might change in `full`.
    const readBack = { ...structuredClone(full), imageSha256: 'ab'.repeat(32) };
    const [a, b] = await store.detections.insertMany([full, { cameraId: 'gate-1', trackId: '18', label: 'person', confidence: 0, detectedAt: 0 }]);
    const first = await store.detections.get(a);
    expect(first).toEqual({ ...readBack, id: a, createdAt: expect.any(Number) });
    expect(Math.abs(first!.createdAt - Date.now())).toBeLessThan(60_000);
    expect(await store.detections.get(b)).toMatchObject({ box: null, imageSha256: null, meta: null, verify: null, confidence: 0, detectedAt: 0 });

    expect(await store.detections.delete(a)).toBe(true);
    expect(await store.detections.get(a)).toBeUndefined();
    expect(await store.detections.delete(a)).toBe(false);
    expect(await store.detections.get('../etc')).toBeUndefined();
    expect((await store.detections.list()).items.map((d) => d.id)).toEqual([b]);
  });

  it('rejects wrongly typed fields with 400 naming the row and field, storing nothing', async () => {
    const store = await open(target);
    const good: DetectionInput = { cameraId: 'c', trackId: 't', label: 'car', confidence: 0.5, detectedAt: 1 };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ confidence: 1.5 }, 'confidence'],
      [{ confidence: '0.5' }, 'confidence'],
      [{ confidence: Number.NaN }, 'confidence'],
      [{ detectedAt: -1 }, 'detectedAt'],
      [{ detectedAt: 1.5 }, 'detectedAt'],
      [{ cameraId: '' }, 'cameraId'],
      [{ trackId: 7 }, 'trackId'],
      [{ label: 'x'.repeat(256) }, 'label'],
      [{ box: [1, 2, 3] }, 'box'],
      [{ box: [1, 2, 3, Number.POSITIVE_INFINITY] }, 'box'],
      [{ imageSha256: '../../x' }, 'imageSha256'],
      [{ meta: { big: 10n } }, 'meta'],
      [{ label: 'car\ud800' }, 'label'],
      [{ cameraId: '\udc00cam' }, 'cameraId'],
    ];
    for (const [patch, field] of cases) {
      await expect(store.detections.insertMany([good, { ...good, ...patch }])).rejects.toMatchObject({
        status: 400,
        details: { index: 1, field },
      });
    }
    expect((await store.detections.list()).items).toEqual([]);
  });

  it('lists with filters, ordered by detectedAt then id, walking every page exactly once', async () => {
    const store = await open(target);
    const stored = await insertFixture(store);
    const expected = [...stored].sort(newestFirst);

    for (const limit of [1, 7, 60, 1000]) {
      const seen: Detection[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.detections.list({ limit, cursor });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen.map((d) => d.id)).toEqual(expected.map((s) => s.id));
    }

    const all = await store.detections.list({ limit: 1000 });
    all.items.forEach((d, i) => expectMatches(d, expected[i]));

    const since = T0 + DAY;
    const until = T0 + 2 * DAY + 3 * HOUR;
    const filters = [
      { cameraId: 'cam-1' },
      { label: 'truck' },
      { trackId: 'track-3' },
      { since },
      { until },
      { cameraId: 'cam-2', label: 'car', since, until },
    ];
    for (const filter of filters) {
      const want = expected.filter(
        (s) =>
          (filter.cameraId === undefined || s.input.cameraId === filter.cameraId) &&
          (filter.label === undefined || s.input.label === filter.label) &&
          (filter.trackId === undefined || s.input.trackId === filter.trackId) &&
          (filter.since === undefined || s.input.detectedAt >= filter.since) &&
          (filter.until === undefined || s.input.detectedAt < filter.until),
      );
      expect(want.length).toBeGreaterThan(0);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.detections.list({ ...filter, limit: 4, cursor });
        seen.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(want.map((s) => s.id));
    }

    // Label comparison is exact on both databases.
    expect((await store.detections.list({ label: 'CAR' })).items).toEqual([]);
    await expect(store.detections.list({ cursor: 'x' })).rejects.toMatchObject({ status: 400 });
    const jobsCursor = Buffer.from(JSON.stringify(['jobs', 1, 'x'])).toString('base64url');
    await expect(store.detections.list({ cursor: jobsCursor })).rejects.toMatchObject({ status: 400 });
  });

  it('computes stats that match the stored rows exactly', async () => {
    const store = await open(target);
    const stored = await insertFixture(store);
    const sizes = { minute: MINUTE, hour: HOUR, day: DAY } as const;

    const expectStats = async (query: { bucket: 'minute' | 'hour' | 'day'; latest: number; since?: number; until?: number; cameraId?: string }) => {
      const rows = stored.filter(
        (s) =>
          (query.since === undefined || s.input.detectedAt >= query.since) &&
          (query.until === undefined || s.input.detectedAt < query.until) &&
          (query.cameraId === undefined || s.input.cameraId === query.cameraId),
      );
      const count = (key: (s: Stored) => string | number) => {
        const m = new Map<string | number, number>();
        for (const s of rows) m.set(key(s), (m.get(key(s)) ?? 0) + 1);
        return m;
      };
      const size = sizes[query.bucket];
      const buckets = [...count((s) => s.input.detectedAt - (s.input.detectedAt % size)).entries()]
        .map(([start, n]) => ({ start: start as number, count: n }))
        .sort((a, b) => a.start - b.start);
      const stats = await store.detections.stats(query);
      expect(stats.total).toBe(rows.length);
      expect(stats.byLabel).toEqual(Object.fromEntries(count((s) => s.input.label)));
      expect(stats.byCamera).toEqual(Object.fromEntries(count((s) => s.input.cameraId)));
      expect(stats.buckets).toEqual(buckets);
      expect(stats.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(rows.length);
      expect(stats.latest.map((d) => d.id)).toEqual(
        [...rows]
          .sort(newestFirst)
          .slice(0, query.latest)
          .map((s) => s.id),
      );
      return stats;
    };

    const day = await expectStats({ bucket: 'day', latest: 5 });
    expect(day.total).toBe(60);
    expect(day.buckets).toEqual([
      { start: T0, count: 20 },
      { start: T0 + DAY, count: 20 },
      { start: T0 + 2 * DAY, count: 20 },
    ]);
    expect(day.byLabel).toEqual({ car: 21, person: 21, truck: 18 });
    expect(day.byCamera).toEqual({ 'cam-0': 20, 'cam-1': 20, 'cam-2': 20 });

    const hour = await expectStats({ bucket: 'hour', latest: 0 });
    expect(hour.latest).toEqual([]);
    expect(hour.buckets).toHaveLength(15);
    expect(hour.buckets.every((b) => b.count === 4)).toBe(true);
    const minute = await expectStats({ bucket: 'minute', latest: 100 });
    expect(minute.buckets).toHaveLength(30);
    expect(minute.latest).toHaveLength(60);
    expect(new Set(stored.map((s) => s.input.detectedAt)).size).toBe(30);
    await expectStats({ bucket: 'hour', latest: 3, since: T0 + DAY + HOUR, until: T0 + 2 * DAY + 2 * HOUR });
    await expectStats({ bucket: 'minute', latest: 2, cameraId: 'cam-2', since: T0 + DAY });
    const empty = await expectStats({ bucket: 'day', latest: 3, since: T0 + 10 * DAY });
    expect(empty).toEqual({ total: 0, byLabel: {}, byCamera: {}, buckets: [], latest: [] });

    await expect(store.detections.stats({ bucket: 'week' as never, latest: 1 })).rejects.toMatchObject({ status: 400 });
    await expect(store.detections.stats({ bucket: 'hour', latest: 101 })).rejects.toMatchObject({ status: 400 });
    await expect(store.detections.stats({ bucket: 'hour', latest: 1, since: 1.5 })).rejects.toMatchObject({ status: 400 });
  });
});
