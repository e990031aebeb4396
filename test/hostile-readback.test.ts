/**
 * Hostile values that the rules allow must be stored exactly: each posted detection reads back
 * field for field, and filters match only what was stored, on SQLite and on MariaDB.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, type TestDatabase } from './helpers/databases.js';
import { filterCases, readBackCases } from './helpers/hostile/readback-cases.js';
import { startTestServer } from './helpers/server.js';

type Json = Record<string, any>;

describeEachDatabase('hostile values read back exactly', (target) => {
  let db: TestDatabase;
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    db = await target.create();
    server = await startTestServer({ SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_DATA_DIR: db.dataDir });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  const post = (body: string) => fetch(`${server.url}/v1/detections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  for (const c of readBackCases()) {
    it(`${c.what}: ${c.mayRefuse ? 'refused with 400 or stored exactly' : 'stored exactly'}`, async () => {
      const res = await post(c.body);
      const answer = (await res.json()) as Json;
      if (c.mayRefuse && res.status === 400) return expect(answer.error.code).toBe('bad_request');
      expect([res.status, answer]).toEqual([201, expect.objectContaining({ id: expect.any(String) })]);
      const stored = (await (await fetch(`${server.url}/v1/detections/${answer.id}`)).json()) as Json;
      for (const [field, value] of Object.entries(c.stored)) expect([field, stored[field]]).toEqual([field, value]);
    });
  }

  for (const c of filterCases()) {
    it(`filter on cameraId: ${c.what}`, async () => {
      for (const cameraId of c.stored)
        expect((await post(JSON.stringify({ cameraId, trackId: '1', label: 'car', confidence: 0.5, detectedAt: 1 }))).status).toBe(201);
      const res = await fetch(`${server.url}/v1/detections?cameraId=${encodeURIComponent(c.filter)}`);
      expect(res.status).toBe(200);
      const found = ((await res.json()) as Json).items.map((d: Json) => d.cameraId);
      expect(found.sort()).toEqual([...c.matches].sort());
    });
  }
});
