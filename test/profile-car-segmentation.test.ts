import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, storeEnv, type DatabaseTarget, type TestDatabase } from './helpers/databases.js';
import { HttpSession } from './helpers/http-session.js';
import { encode, fromRaw, rgbPixels, type Rgb } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { carSegmentationModel } from './helpers/profile-models.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Rect = [number, number, number, number];

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A 16×16 PNG, black, with filled rectangles `[x0, y0, x1, y1)`. */
const photo = (fills: Array<[Rect, Rgb]>) =>
  encode(
    fromRaw(
      rgbPixels(16, 16, (x, y) => fills.find(([[x0, y0, x1, y1]]) => x >= x0 && x < x1 && y >= y0 && y < y1)?.[1] ?? [0, 0, 0]),
      16,
      16,
    ),
    'png',
  );

const GREEN: Rgb = [0, 200, 0];
const BLUE: Rgb = [0, 0, 200];

describeEachDatabase('the car-segmentation profile', (target: DatabaseTarget) => {
  let server: Server;
  let db: TestDatabase;
  let car: Buffer;

  beforeAll(async () => {
    car = await photo([
      [[2, 2, 14, 8], GREEN],
      [[2, 10, 8, 15], BLUE],
      [[11, 11, 14, 14], BLUE],
    ]);
    db = await target.create();
    server = await startTestServer({
      ...storeEnv(db),
      SIGHTLINE_MODELS_DIR: makeModelRepo({ parts: carSegmentationModel() }),
      SIGHTLINE_PROFILES: 'car-segmentation=parts',
    });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  /** POST / with a raw JSON body, as a client would send it. */
  const post = (body: string) => fetch(`${server.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  /** POST / {"image": …}. */
  const upload = (image: string) => post(JSON.stringify({ image }));

  /** Polls the status as a client would, on its kept-alive connection, until it is no longer in progress. */
  async function settle(session: HttpSession, hash: string): Promise<{ status: string; message: string }> {
    for (;;) {
      const res = await session.request('GET', `/${hash}/status`);
      expect(res.status).toBe(200);
      const body = res.json();
      if (body.status !== 'Uploaded' && body.status !== 'Processing') return body;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('POST / {"image": base64} → image_hash; the status becomes Ready; the segments are polygons by part name', async () => {
    const session = new HttpSession(server.url);
    try {
      const res = await session.request('POST', '/', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: car.toString('base64') }),
      });
      expect([res.status, res.json()]).toEqual([200, { image_hash: sha(car) }]);
      expect(await settle(session, sha(car))).toEqual({ status: 'Ready', message: 'segmentation complete' });
      const segments = await session.request('GET', `/${sha(car)}/segments`);
      expect(segments.status).toBe(200);
      // The same polygons as the model's own answer, largest first within a part: the outline runs
      // through the centres of the boundary pixels, half a pixel inside each rectangle.
      const native = (await (
        await fetch(`${server.url}/v1/models/parts/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: car })
      ).json()) as {
        polygons: Array<{ label: string; bbox: Rect; points: Array<[number, number]> }>;
      };
      expect(native.polygons.map((p) => [p.label, p.bbox])).toEqual([
        ['body', [2.5, 2.5, 13.5, 7.5]],
        ['wheel', [2.5, 10.5, 7.5, 14.5]],
        ['wheel', [11.5, 11.5, 13.5, 13.5]],
      ]);
      expect(segments.json()).toEqual({ body: native.polygons[0].points, wheel: native.polygons[1].points, wheel_2: native.polygons[2].points });
      expect(Object.values(segments.json() as Record<string, unknown[]>).map((points) => points.length)).toEqual([4, 4, 4]);
      expect(segments.reusedSocket).toBe(true);
    } finally {
      session.close();
    }
  });

  it('GET / lists the processed hashes; the same photo again is not processed twice', async () => {
    const again = await upload(`data:image/png;base64,${car.toString('base64')}`);
    expect(await again.json()).toEqual({ image_hash: sha(car) });
    const other = await photo([[[0, 0, 16, 4], GREEN]]);
    await upload(other.toString('base64'));
    const session = new HttpSession(server.url);
    try {
      await settle(session, sha(other));
    } finally {
      session.close();
    }
    expect(await (await fetch(`${server.url}/`)).json()).toEqual([sha(car), sha(other)]);
    const jobs = (await (await fetch(`${server.url}/v1/jobs?model=parts`)).json()) as { items: unknown[] };
    expect(jobs.items).toHaveLength(2);
  });

  it('Error with the reason when the model fails on the image; segments then 404', async () => {
    const white = await photo([
      [
        [0, 0, 1, 1],
        [255, 255, 255],
      ],
    ]);
    const res = await upload(white.toString('base64'));
    const { image_hash } = (await res.json()) as { image_hash: string };
    const session = new HttpSession(server.url);
    try {
      const status = await settle(session, image_hash);
      expect(status.status).toBe('Error');
      expect(status.message).toMatch(/model|run|inference/i);
    } finally {
      session.close();
    }
    const segments = await fetch(`${server.url}/${image_hash}/segments`);
    expect(segments.status).toBe(404);
    expect(((await segments.json()) as { error: string }).error).toMatch(/^no segmentation for this image: /);
    expect(await (await fetch(`${server.url}/`)).json()).not.toContain(image_hash);
  });

  it('answers errors as {"error": …}: no image, not base64, not an image, unknown ids', async () => {
    const none = await post('{}');
    expect([none.status, await none.json()]).toEqual([400, { error: 'no image provided' }]);
    const bad = await upload('%%%');
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'image: not valid base64' }]);
    const text = await upload(Buffer.from('hello there').toString('base64'));
    expect(text.status).toBe(415);
    expect(Object.keys((await text.json()) as object)).toEqual(['error']);
    const unknown = await fetch(`${server.url}/${'0'.repeat(64)}/status`);
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: 'image not found' }]);
    const junk = await fetch(`${server.url}/not-a-hash/segments`);
    expect([junk.status, await junk.json()]).toEqual([404, { error: 'image not found' }]);
  });

  it('Processing while the model runs: segments are 400 until it is Ready', async () => {
    const slow = await photo([
      [
        [0, 0, 1, 1],
        [128, 128, 128],
      ],
      [[4, 4, 12, 12], GREEN],
    ]);
    const res = await upload(slow.toString('base64'));
    const { image_hash } = (await res.json()) as { image_hash: string };
    const session = new HttpSession(server.url);
    try {
      let seen: { status: string; message: string } | undefined;
      for (let i = 0; i < 200 && seen?.status !== 'Processing'; i++) {
        seen = (await session.request('GET', `/${image_hash}/status`)).json();
        if (seen?.status !== 'Processing') await new Promise((r) => setTimeout(r, 10));
      }
      expect(seen).toEqual({ status: 'Processing', message: 'segmentation in progress' });
      const early = await session.request('GET', `/${image_hash}/segments`);
      expect([early.status, early.json()]).toEqual([400, { error: 'the image is still being processed; poll its status' }]);
      expect(await settle(session, image_hash)).toEqual({ status: 'Ready', message: 'segmentation complete' });
      expect(Object.keys((await session.request('GET', `/${image_hash}/segments`)).json())).toEqual(['body']);
    } finally {
      session.close();
    }
  });
});
