import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import { describeEachDatabase, type TestDatabase } from './helpers/databases.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = Record<string, any>;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 2024-03-10T00:00:00Z */
const T0 = 1_710_028_800_000;

const repoDir = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachDatabase('camera ingestion', (target) => {
  let db: TestDatabase;
  let server: Server;

  beforeAll(async () => {
    db = await target.create();
    server = await startTestServer({
      SIGHTLINE_DATABASE_URL: db.url,
      SIGHTLINE_DATA_DIR: db.dataDir,
      SIGHTLINE_MODELS_DIR: repoDir,
      SIGHTLINE_MAX_DETECTIONS_PER_REQUEST: '100',
    });
    await server.modelsLoaded;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  const post = (body: unknown, query = '') =>
    fetch(`${server.url}/v1/detections${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const base = (cameraId: string, extra: Json = {}): Json => ({ cameraId, trackId: 't-1', label: 'car', confidence: 0.5, detectedAt: T0, ...extra });

  it('stores one detection and reads it back exactly', async () => {
    const res = await post(
      base('cam-one', { box: [10.5, 20, 110.25, 220], meta: { plate: 'KA-01', speed: 42.5 }, trackId: 17, detectedAt: '2024-03-10T01:02:03.004Z' }),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), imageSha256: null, verify: null });
    expect(res.headers.get('location')).toBe(`/v1/detections/${body.id}`);
    const stored = await get(`/v1/detections/${body.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({
      id: body.id,
      cameraId: 'cam-one',
      trackId: '17',
      label: 'car',
      confidence: 0.5,
      box: [10.5, 20, 110.25, 220],
      detectedAt: T0 + HOUR + 2 * MINUTE + 3004,
      imageSha256: null,
      meta: { plate: 'KA-01', speed: 42.5 },
      verify: null,
      createdAt: expect.any(Number),
    });
    expect(Math.abs(stored.body.createdAt - Date.now())).toBeLessThan(60_000);
  });

  it('validates field by field, naming the field (and the index in a batch)', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ ...base('c'), cameraId: '' }, 'cameraId', 'must be a non-empty string of at most 255 characters'],
      [{ ...base('c'), cameraId: undefined }, 'cameraId', 'missing: must be a non-empty string of at most 255 characters'],
      [{ ...base('c'), trackId: -1 }, 'trackId', 'must be a non-empty string of at most 255 characters'],
      [{ ...base('c'), label: 'x'.repeat(256) }, 'label', 'must be a non-empty string of at most 255 characters'],
      [{ ...base('c'), confidence: 1.01 }, 'confidence', 'must be a number from 0 to 1'],
      [{ ...base('c'), confidence: '0.5' }, 'confidence', 'must be a number from 0 to 1'],
      [{ ...base('c'), box: [1, 2, 3] }, 'box', 'must be [x1, y1, x2, y2] with finite numbers'],
      [{ ...base('c'), box: [5, 2, 3, 4] }, 'box', 'must have x1 <= x2 and y1 <= y2'],
      [{ ...base('c'), detectedAt: -5 }, 'detectedAt', 'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone'],
      [
        { ...base('c'), detectedAt: '2024-03-10 10:00' },
        'detectedAt',
        'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone',
      ],
      [{ ...base('c'), detectedAt: 8.64e15 + 1 }, 'detectedAt', 'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone'],
      [
        { ...base('c'), detectedAt: '8640000000000001' },
        'detectedAt',
        'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone',
      ],
      [{ ...base('c'), image: '@@@' }, 'image', 'not valid base64'],
      [{ ...base('c'), imageSha256: 'nope' }, 'imageSha256', 'must be a SHA-256 hash: 64 hexadecimal digits'],
      [{ ...base('c'), meta: { big: 'x'.repeat(65 * 1024) } }, 'meta', 'must serialise to at most 65536 bytes of JSON'],
      [{ ...base('c'), colour: 'red' }, 'colour', 'unknown field'],
      [{ detections: [base('c'), { ...base('c'), confidence: -1 }] }, 'detections[1].confidence', 'must be a number from 0 to 1'],
      [{ detections: [base('c'), 'x'] }, 'detections[1]', 'must be a JSON object'],
      [{ detections: [] }, 'detections', 'must be an array of 1 to 100 detections'],
      [{ detections: Array.from({ length: 101 }, () => base('c')) }, 'detections', 'must be an array of 1 to 100 detections'],
      [{ detections: [base('c')], extra: 1 }, 'extra', 'unknown field (a batch holds only "detections")'],
    ];
    for (const [body, field, rule] of cases) {
      const res = await post(body);
      expect(res.status, field).toBe(400);
      expect(await res.json(), field).toEqual({ error: { code: 'bad_request', message: `${field}: ${rule}`, field } });
    }
    // A body nests at most 128 levels below its top level: meta may nest 128, not 129 (nor 6000).
    const withMeta = (depth: number, camera = 'c') => JSON.stringify(base(camera)).replace(/}$/, `,"meta":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect((await post(withMeta(128, 'deep-at-the-limit'))).status).toBe(201);
    // In a batch each detection sits two levels down, so its meta may nest 126.
    const deepBatch = `{"detections":[${withMeta(126)},${withMeta(127)}]}`;
    expect(await (await post(deepBatch)).json()).toEqual({
      error: { code: 'bad_request', message: 'detections[1].meta: is nested deeper than 128 levels', field: 'detections[1].meta' },
    });
    for (const depth of [129, 6000]) {
      const tooDeep = await post(withMeta(depth));
      expect([tooDeep.status, await tooDeep.json()]).toEqual([
        400,
        { error: { code: 'bad_request', message: 'meta: is nested deeper than 128 levels', field: 'meta' } },
      ]);
    }
    const notJson = await post('{"cameraId":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as Json).error.message).toMatch(/^request body is not valid JSON/);
    const wrongType = await fetch(`${server.url}/v1/detections`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
    expect((await get('/v1/detections?cameraId=c')).body.items).toEqual([]);
  });

  it('refuses values that would be stored as something else, naming the field', async () => {
    const dateRule = 'must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone';
    for (const when of [
      '2024-02-30T00:00:00Z',
      '2024-04-31T12:00:00Z',
      '2024-01-01T24:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-01T10:60:00Z',
      '2024-13-01T00:00:00Z',
      '2024-01-01T00:00:00+24:00',
    ]) {
      const res = await post(base('odd-date', { detectedAt: when }));
      expect([res.status, await res.json()], when).toEqual([400, { error: { code: 'bad_request', message: `detectedAt: ${dateRule}`, field: 'detectedAt' } }]);
    }
    const leap = await post(base('odd-date', { detectedAt: '2024-02-29T23:59:59+01:00' }));
    expect(leap.status).toBe(201);
    expect((await get(`/v1/detections/${((await leap.json()) as Json).id}`)).body.detectedAt).toBe(Date.UTC(2024, 1, 29, 22, 59, 59));

    // Lone surrogates (JSON escapes allow them; no database stores them as sent).
    const lone = JSON.stringify(base('odd-text')).replace('"label":"car"', '"label":"car\\ud800"');
    expect(lone).toContain('\\ud800');
    const loneRes = await post(lone);
    expect([loneRes.status, await loneRes.json()]).toEqual([
      400,
      { error: { code: 'bad_request', message: 'label: contains a lone UTF-16 surrogate (not a Unicode character)', field: 'label' } },
    ]);
    const inMeta = await post(JSON.stringify(base('odd-text', { meta: { ok: 'fine' } })).replace('"ok":"fine"', '"note":"\\udc00x","\\ud83dkey":1'));
    expect([inMeta.status, await inMeta.json()]).toEqual([
      400,
      {
        error: {
          code: 'bad_request',
          message: 'meta.note: contains a lone UTF-16 surrogate (not a Unicode character); meta: has a key with a lone UTF-16 surrogate ("\\ud83dkey")',
          field: 'meta.note',
          fields: [
            { field: 'meta.note', message: 'contains a lone UTF-16 surrogate (not a Unicode character)' },
            { field: 'meta', message: 'has a key with a lone UTF-16 surrogate ("\\ud83dkey")' },
          ],
        },
      },
    ]);
    // Bytes that are not UTF-8 are refused, not read as U+FFFD.
    const badUtf8 = Buffer.concat([
      Buffer.from('{"cameraId":"caf'),
      Buffer.from([0xff]),
      Buffer.from(`","trackId":"t","label":"car","confidence":0.5,"detectedAt":${T0}}`),
    ]);
    const badRes = await fetch(`${server.url}/v1/detections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: badUtf8 });
    expect([badRes.status, await badRes.json()]).toEqual([400, { error: { code: 'bad_request', message: 'request body is not valid UTF-8' } }]);
    const huge = await post(JSON.stringify(base('odd-text', { meta: { n: 1 } })).replace('"n":1', '"n":1e400'));
    expect([huge.status, ((await huge.json()) as Json).error.field]).toEqual([400, 'meta.n']);
    expect((await get('/v1/detections?cameraId=odd-text')).body.items).toEqual([]);

    // Four-byte characters and everything else well-formed read back exactly (utf8mb4 on MySQL).
    const exotic = { cameraId: 'cam-😀', trackId: '𝄞-7', label: '🚗 Straßenbahn 中文 \u0000 é', meta: { note: '👍🏽 é ñ', '🔑': ['𝔘𝔫𝔦'] } };
    const stored = await post(base('', exotic));
    expect(stored.status).toBe(201);
    const read = await get(`/v1/detections/${((await stored.json()) as Json).id}`);
    expect({ cameraId: read.body.cameraId, trackId: read.body.trackId, label: read.body.label, meta: read.body.meta }).toEqual(exotic);
    expect((await get(`/v1/detections?cameraId=${encodeURIComponent('cam-😀')}`)).body.items).toHaveLength(1);
  });

  it('decodes base64 snapshots, stores them once by content and serves them back', async () => {
    const png = await solidImage('png', 12, 10, [200, 10, 10]);
    const hash = sha256(png);
    const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
    const res = await post({ detections: [base('cam-img', { image: png.toString('base64') }), base('cam-img', { image: dataUrl, trackId: 't-2' })] });
    expect(res.status).toBe(201);
    const { ids } = (await res.json()) as { ids: string[] };
    // A later detection may refer to a stored image by its hash.
    const byHash = await post(base('cam-img', { imageSha256: hash.toUpperCase() }));
    expect(byHash.status).toBe(201);
    ids.push(((await byHash.json()) as { id: string }).id);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect((await get(`/v1/detections/${id}`)).body.imageSha256).toBe(hash);
    const image = await fetch(`${server.url}/v1/images/${hash}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(png);
    const row = await server.store.db.selectFrom('blobs').selectAll().where('sha256', '=', hash).execute();
    expect(row.map((r) => [Number(r.bytes), r.media_type, Number(r.width), Number(r.height)])).toEqual([[png.length, 'image/png', 12, 10]]);

    const notImage = await post(base('cam-img', { image: Buffer.from('hello, not an image').toString('base64') }));
    expect(notImage.status).toBe(415);
    expect(await notImage.json()).toEqual({
      error: { code: 'unsupported_media_type', message: 'image: not a recognised image; supported formats: jpeg, png, webp, gif, tiff, avif', field: 'image' },
    });
    const unknown = await post({ detections: [base('cam-img'), base('cam-img', { imageSha256: 'ab'.repeat(32) })] });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: { code: 'bad_request', message: 'detections[1].imageSha256: no stored image has this hash', field: 'detections[1].imageSha256' },
    });
    expect((await get('/v1/detections?cameraId=cam-img')).body.items).toHaveLength(3);
  });

  it('runs a model on the snapshot with ?verify= and stores its answer', async () => {
    const blue = await solidImage('png', 8, 8, [0, 0, 255]);
    const res = await post(base('cam-verify', { image: blue.toString('base64') }), '?verify=cls');
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body.verify).toMatchObject({ model: 'cls', label: 'blue', width: 8, height: 8 });
    expect((await get(`/v1/detections/${body.id}`)).body.verify).toEqual(body.verify);
    // Without a snapshot there is nothing to verify.
    const none = (await (await post(base('cam-verify'), '?verify=cls')).json()) as Json;
    expect(none.verify).toBeNull();
    const unknownModel = await post(base('cam-verify'), '?verify=nope');
    expect(unknownModel.status).toBe(404);
    expect((await post(base('cam-verify'), '?verify=')).status).toBe(400);
    expect((await get('/v1/detections?cameraId=cam-verify')).body.items).toHaveLength(2);
  });

  /** 40 detections over three days, cameras p0..p3, labels car/person/truck; timestamps shared by pairs. */
  async function fixture(prefix: string): Promise<Array<Json & { id: string }>> {
    const labels = ['car', 'person', 'truck'];
    const rows = Array.from({ length: 40 }, (_, i) => ({
      cameraId: `${prefix}${i % 4}`,
      trackId: `tr-${i}`,
      label: labels[i % 3],
      confidence: (i % 10) / 10,
      detectedAt: T0 + Math.floor(i / 16) * DAY + (Math.floor(i / 2) % 8) * HOUR + (i % 3) * MINUTE,
    }));
    // Posted concurrently in several batches, as cameras would.
    const chunks = [rows.slice(0, 10), rows.slice(10, 25), rows.slice(25)];
    const answers = await Promise.all(chunks.map((c) => post({ detections: c }).then((r) => r.json() as Promise<{ ids: string[] }>)));
    const ids = answers.flatMap((a) => a.ids);
    return rows.map((r, i) => ({ ...r, id: ids[i] }));
  }

  const newestFirst = (a: Json, b: Json) => b.detectedAt - a.detectedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

  it('lists with filters and cursor pagination, newest first', async () => {
    const rows = await fixture('pg-');
    const cam = rows.filter((r) => r.cameraId === 'pg-1').sort(newestFirst);
    const page = await get('/v1/detections?cameraId=pg-1&limit=100');
    expect(page.body.items.map((d: Json) => d.id)).toEqual(cam.map((r) => r.id));
    expect(page.body.nextCursor).toBeNull();
    expect(page.body.items[0]).toEqual({ ...cam[0], box: null, imageSha256: null, meta: null, verify: null, createdAt: expect.any(Number) });

    // Walk every row of the fixture's cameras in pages of 3 (all four cameras share the prefix).
    const all: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const q = new URLSearchParams({ since: String(T0), until: String(T0 + 3 * DAY), limit: '3' });
      if (cursor) q.set('cursor', cursor);
      const p = await get(`/v1/detections?${q.toString()}`);
      expect(p.status).toBe(200);
      all.push(...p.body.items.filter((d: Json) => d.cameraId.startsWith('pg-')).map((d: Json) => d.id));
      cursor = p.body.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(all).toEqual([...rows].sort(newestFirst).map((r) => r.id));

    const since = T0 + DAY;
    const until = T0 + 2 * DAY + 4 * HOUR;
    const window = await get(`/v1/detections?camera=pg-2&label=truck&since=${new Date(since).toISOString()}&until=${until}`);
    const expected = rows.filter((r) => r.cameraId === 'pg-2' && r.label === 'truck' && r.detectedAt >= since && r.detectedAt < until).sort(newestFirst);
    expect(expected.length).toBeGreaterThan(0);
    expect(window.body.items.map((d: Json) => d.id)).toEqual(expected.map((r) => r.id));

    // Each refusal names the one parameter given.
    const bad: Array<[query: string, message: string]> = [
      ['limit=0', 'limit: must be an integer from 1 to 1000'],
      ['limit=x', 'limit: must be an integer from 1 to 1000'],
      ['since=yesterday', 'since: must be epoch milliseconds or an ISO 8601 date-time with a zone'],
      ['cursor=abc', 'cursor is not valid for this listing'],
      ['colour=red', 'colour: unknown query parameter'],
      ['bucket=hour', 'bucket: unknown query parameter'],
    ];
    for (const [query, message] of bad) {
      const field = query.slice(0, query.indexOf('='));
      expect(await get(`/v1/detections?${query}`), query).toEqual({ status: 400, body: { error: { code: 'bad_request', message, field } } });
    }
  });

  it('computes stats that match the stored rows', async () => {
    const rows = await fixture('st-');
    const count = (key: (r: Json) => string | number) => {
      const out: Record<string, number> = {};
      for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + 1;
      return out;
    };
    for (const [bucket, size] of [
      ['hour', HOUR],
      ['day', DAY],
      ['minute', MINUTE],
    ] as const) {
      // Each fixture camera separately, and all four through a time window that holds only the fixture's days.
      const stats = await get(`/v1/stats?cameraId=st-3&bucket=${bucket}&latest=2`);
      const mine = rows.filter((r) => r.cameraId === 'st-3');
      expect(stats.status).toBe(200);
      expect(stats.body.total).toBe(mine.length);
      const byLabel: Record<string, number> = {};
      for (const r of mine) byLabel[r.label] = (byLabel[r.label] ?? 0) + 1;
      expect(stats.body.byLabel).toEqual(byLabel);
      expect(stats.body.byCamera).toEqual({ 'st-3': mine.length });
      const buckets = new Map<number, number>();
      for (const r of mine) buckets.set(r.detectedAt - (r.detectedAt % size), (buckets.get(r.detectedAt - (r.detectedAt % size)) ?? 0) + 1);
      expect(stats.body.buckets).toEqual([...buckets].sort((a, b) => a[0] - b[0]).map(([start, n]) => ({ start, count: n })));
      expect(stats.body.latest.map((d: Json) => d.id)).toEqual(
        [...mine]
          .sort(newestFirst)
          .slice(0, 2)
          .map((r) => r.id),
      );
    }
    const perCamera = count((r) => r.cameraId);
    for (const cam of Object.keys(perCamera)) {
      expect((await get(`/v1/stats?cameraId=${cam}&latest=0`)).body).toMatchObject({ total: perCamera[cam], byCamera: { [cam]: perCamera[cam] }, latest: [] });
    }
    for (const label of ['car', 'person', 'truck']) {
      const s = (await get(`/v1/stats?label=${label}&since=${T0}&until=${T0 + 3 * DAY}`)).body;
      const fixtureCameras = Object.fromEntries(Object.entries(s.byCamera as Record<string, number>).filter(([c]) => c.startsWith('st-')));
      const expected: Record<string, number> = {};
      for (const r of rows) if (r.label === label) expected[r.cameraId] = (expected[r.cameraId] ?? 0) + 1;
      expect(fixtureCameras).toEqual(expected);
    }
    expect((await get('/v1/stats?bucket=week')).body).toEqual({
      error: { code: 'bad_request', message: 'bucket: must be one of minute, hour, day', field: 'bucket' },
    });
    expect((await get('/v1/stats?latest=101')).body).toEqual({
      error: { code: 'bad_request', message: 'latest: must be an integer from 0 to 100', field: 'latest' },
    });
  });

  it('deletes a detection, and answers 404 when it is absent', async () => {
    const { id } = (await (await post(base('cam-del'))).json()) as { id: string };
    const del = await fetch(`${server.url}/v1/detections/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await get(`/v1/detections/${id}`)).status).toBe(404);
    const again = await fetch(`${server.url}/v1/detections/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'not_found', message: `detection ${id} not found` } });
    expect((await fetch(`${server.url}/v1/detections/not-an-id`, { method: 'DELETE' })).status).toBe(404);
  });
});
