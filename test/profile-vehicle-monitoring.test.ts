import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, type DatabaseTarget, type TestDatabase } from './helpers/databases.js';
import { HttpSession } from './helpers/http-session.js';
import { solidImage } from './helpers/images.js';
import { startTestServer } from './helpers/server.js';
import { FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const blobPath = (server: Server, hash: string) => path.join(server.dataDir, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash);

describeEachDatabase('the vehicle-monitoring profile', (target: DatabaseTarget) => {
  let server: Server;
  let db: TestDatabase;
  let car: Buffer;
  let truck: Buffer;
  let phones: FrameClient[];
  const ids: string[] = [];

  beforeAll(async () => {
    [car, truck] = await Promise.all([solidImage('jpeg', 40, 30, [200, 10, 10]), solidImage('png', 20, 10, [10, 10, 200])]);
    db = await target.create();
    server = await startTestServer({ SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_DATA_DIR: db.dataDir, SIGHTLINE_PROFILES: 'vehicle-monitoring' });
    // Two phones watching: they connect and send nothing.
    const ws = server.url.replace('http', 'ws');
    phones = await Promise.all([FrameClient.open(`${ws}/ws`), FrameClient.open(`${ws}/ws`)]);
  });
  afterAll(async () => {
    for (const p of phones ?? []) p.close();
    await server?.close();
    await db?.drop();
  });

  it('POST /api/detect from the AI unit: stored, answered, and pushed with its snapshot to every phone at once', async () => {
    const res = await fetch(`${server.url}/api/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tracking_id: 17, vehicle_type: 'car', camera: 'gate-1', timestamp: '2024-03-10T08:00:00.123456', image: car.toString('base64') }),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { status: string; id: string; message: string };
    expect(answer).toEqual({ status: 'success', id: expect.stringMatching(/^[0-9a-f-]{36}$/), message: 'detection logged' });
    ids.push(answer.id);
    const expected = {
      type: 'detection',
      id: answer.id,
      tracking_id: '17',
      vehicle_type: 'car',
      camera: 'gate-1',
      timestamp: '2024-03-10T08:00:00.123Z',
      confidence: 1,
      image: car.toString('base64'),
    };
    expect(await Promise.all(phones.map((p) => p.next()))).toEqual([expected, expected]);
  });

  it('takes the obvious variants of the field names, epoch seconds, a data URL, and several posts on one kept-alive connection', async () => {
    const session = new HttpSession(server.url);
    try {
      const first = await session.request('POST', '/api/detect', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          track_id: 'a1',
          type: 'truck',
          camera_id: 'gate-2',
          timestamp: 1710057600.5,
          image_base64: `data:image/png;base64,${truck.toString('base64')}`,
          confidence: 0.8,
        }),
      });
      const second = await session.request('POST', '/api/detect', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ trackingId: 'a2', vehicleType: 'car', cameraId: 'gate-2', detected_at: '2024-03-10T08:00:01+01:00' }),
      });
      expect([first.status, second.status, second.reusedSocket]).toEqual([200, 200, true]);
      ids.push(first.json().id, second.json().id);
    } finally {
      session.close();
    }
    for (const phone of phones) {
      expect(await phone.next()).toEqual({
        type: 'detection',
        id: ids[1],
        tracking_id: 'a1',
        vehicle_type: 'truck',
        camera: 'gate-2',
        timestamp: '2024-03-10T08:00:00.500Z',
        confidence: 0.8,
        image: truck.toString('base64'),
      });
      expect(await phone.next()).toEqual({
        type: 'detection',
        id: ids[2],
        tracking_id: 'a2',
        vehicle_type: 'car',
        camera: 'gate-2',
        timestamp: '2024-03-10T07:00:01.000Z',
        confidence: 1,
        image: null,
      });
    }
  });

  it('pushes detections stored through the native API too', async () => {
    const res = await fetch(`${server.url}/v1/detections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cameraId: 'gate-3', trackId: '9', label: 'bus', confidence: 0.5, detectedAt: 1710057602000 }),
    });
    const { id } = (await res.json()) as { id: string };
    ids.push(id);
    for (const phone of phones) {
      expect(await phone.next()).toEqual({
        type: 'detection',
        id,
        tracking_id: '9',
        vehicle_type: 'bus',
        camera: 'gate-3',
        timestamp: '2024-03-10T08:00:02.000Z',
        confidence: 0.5,
        image: null,
      });
    }
  });

  it('GET /api/stats: total vehicles, counts by type, recent logs newest first', async () => {
    const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as Record<string, any>;
    expect(stats.total_vehicles).toBe(4);
    expect(stats.counts_by_type).toEqual({ bus: 1, car: 2, truck: 1 });
    expect(stats.recent_logs.map((l: { id: string }) => l.id)).toEqual([ids[3], ids[1], ids[0], ids[2]]);
    expect(stats.recent_logs[2]).toEqual({
      id: ids[0],
      tracking_id: '17',
      vehicle_type: 'car',
      camera: 'gate-1',
      timestamp: '2024-03-10T08:00:00.123Z',
      confidence: 1,
      image_url: expect.stringMatching(/^\/v1\/images\/[0-9a-f]{64}$/),
    });
    const image = await fetch(`${server.url}${stats.recent_logs[2].image_url}`);
    expect(Buffer.from(await image.arrayBuffer()).equals(car)).toBe(true);
    const two = (await (await fetch(`${server.url}/api/stats?limit=2`)).json()) as { recent_logs: unknown[] };
    expect(two.recent_logs).toHaveLength(2);
  });

  it('DELETE /api/delete/{id}: removes the log and its snapshot, and tells every phone', async () => {
    const before = (await (await fetch(`${server.url}/api/stats`)).json()) as { recent_logs: Array<{ id: string; image_url: string }> };
    const hash = before.recent_logs
      .find((l) => l.id === ids[0])!
      .image_url.split('/')
      .pop()!;
    expect(existsSync(blobPath(server, hash))).toBe(true);
    const res = await fetch(`${server.url}/api/delete/${ids[0]}`, { method: 'DELETE' });
    expect([res.status, await res.json()]).toEqual([200, { status: 'success', id: ids[0], message: 'log deleted' }]);
    for (const phone of phones) expect(await phone.next()).toEqual({ type: 'deleted', id: ids[0] });
    expect(existsSync(blobPath(server, hash))).toBe(false);
    const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as { total_vehicles: number; counts_by_type: Record<string, number> };
    expect([stats.total_vehicles, stats.counts_by_type]).toEqual([3, { bus: 1, car: 1, truck: 1 }]);
    const again = await fetch(`${server.url}/api/delete/${ids[0]}`, { method: 'DELETE' });
    expect([again.status, await again.json()]).toEqual([404, { detail: `log ${ids[0]} not found` }]);
    const junk = await fetch(`${server.url}/api/delete/42`, { method: 'DELETE' });
    expect([junk.status, await junk.json()]).toEqual([404, { detail: 'log 42 not found' }]);
    for (const phone of phones) expect(await phone.unread()).toEqual([]);
  });

  it('answers its errors as {"detail": …}: missing fields, a bad timestamp, a snapshot that is not an image', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/api/detect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const missing = await post({ vehicle_type: 'car' });
    expect([missing.status, await missing.json()]).toEqual([
      400,
      {
        detail:
          'tracking_id: missing: must be a non-empty string of at most 255 characters; camera: missing: must be a non-empty string of at most 255 characters',
      },
    ]);
    const time = await post({ tracking_id: 1, vehicle_type: 'car', camera: 'c', timestamp: 'yesterday' });
    expect([time.status, await time.json()]).toEqual([
      400,
      { detail: 'timestamp: must be an ISO 8601 date-time (read as UTC without a zone), or epoch seconds or milliseconds' },
    ]);
    const text = await post({ tracking_id: 1, vehicle_type: 'car', camera: 'c', image: Buffer.from('hello world').toString('base64') });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { detail: string }).detail).toMatch(/^image: /);
    const notJson = await fetch(`${server.url}/api/detect`, { method: 'POST', body: 'x' });
    expect([notJson.status, await notJson.json()]).toEqual([415, { detail: 'expected Content-Type application/json, got text/plain' }]);
    const plain = await fetch(`${server.url}/ws`);
    expect([plain.status, await plain.json()]).toEqual([426, { detail: 'this path speaks WebSocket; connect with a WebSocket client' }]);
    for (const phone of phones) expect(await phone.unread()).toEqual([]);
  });
});
