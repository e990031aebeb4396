/**
 * Events between replicas through the machine's NATS: servers in this process, each with its own
 * SQLite, sharing one subject; and a private nats-server that goes away and comes back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../dist/bench/replica-set.js';
import { solidImage } from './helpers/images.js';
import { rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import { NATS_URL, uniqueName } from './helpers/services.js';
import { type Frame, FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const servers: Server[] = [];
const sockets: FrameClient[] = [];
const natsServers: ChildProcess[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  for (const n of natsServers) n.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.close()));
});

async function replica(env: Record<string, string>): Promise<Server> {
  const server = await startTestServer(env);
  servers.push(server);
  return server;
}

async function subscriber(server: Server, topic: string): Promise<FrameClient> {
  const socket = await FrameClient.open(`${server.url.replace('http://', 'ws://')}/v1/ws`);
  sockets.push(socket);
  expect(await socket.ask({ type: 'subscribe', topic })).toEqual({ type: 'subscribed', topics: [topic] });
  return socket;
}

async function post(server: Server, trackId: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/detections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cameraId: 'cam-relay', trackId, label: 'car', confidence: 0.5, detectedAt: 1_700_000_000_000 }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The id in an event's data; undefined for a frame that is not an event (the subscribe answer). */
const idOf = (f: Frame) => (f.data as { id?: string } | undefined)?.id;
const statusOf = (f: Frame) => (f.data as { status?: string } | undefined)?.status;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `socket` holds `n` frames after its subscribe answer, then a little more for stragglers (duplicates). */
async function events(socket: FrameClient, n: number, timeoutMs = 15_000): Promise<Frame[]> {
  const deadline = Date.now() + timeoutMs;
  while (socket.received.length < n + 1 && Date.now() < deadline) await sleep(20);
  await sleep(300);
  return socket.received.slice(1);
}

async function readiness(server: Server): Promise<unknown> {
  return (await fetch(`${server.url}/health/ready`)).json();
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('events through NATS', () => {
  it('delivers every detection posted to either replica to the subscribers of both, each exactly once, as stored', async () => {
    const subject = uniqueName('sightline.test.');
    const a = await replica({ SIGHTLINE_EVENTS_URL: NATS_URL, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'a' });
    const b = await replica({ SIGHTLINE_EVENTS_URL: NATS_URL, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'b' });
    const other = await replica({ SIGHTLINE_EVENTS_URL: NATS_URL, SIGHTLINE_EVENTS_SUBJECT: uniqueName('sightline.test.'), SIGHTLINE_REPLICA_ID: 'c' });
    for (const s of [a, b, other])
      await until(async () => JSON.stringify(await readiness(s)) === '{"status":"ready","events":{"bus":"nats","connected":true}}', 10_000);
    const onA = await subscriber(a, 'detections');
    const onB = await subscriber(b, 'detections');
    const onOther = await subscriber(other, 'detections');
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await post(i % 2 === 0 ? a : b, `t-${i}`));
    for (const socket of [onA, onB]) {
      const got = await events(socket, 50);
      expect(got.map((f) => idOf(f)).sort()).toEqual([...ids].sort());
      expect(got.every((f) => f.type === 'event' && f.topic === 'detections' && f.event === 'detection.created')).toBe(true);
    }
    // The data is what GET answers on the replica that stored it.
    const first = onB.received.find((f) => idOf(f) === ids[0])!;
    expect(first.data).toEqual(await (await fetch(`${a.url}/v1/detections/${ids[0]}`)).json());
    // Another deployment's subject hears nothing of it.
    expect(await onOther.unread(300)).toEqual([]);
  });

  it('relays job events too, and says on /health/ready that the bus is connected', async () => {
    const subject = uniqueName('sightline.test.');
    const models = makeModelRepo({ cls: rgbClassifierEntry() });
    const a = await replica({ SIGHTLINE_EVENTS_URL: NATS_URL, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'a', SIGHTLINE_MODELS_DIR: models });
    const b = await replica({ SIGHTLINE_EVENTS_URL: NATS_URL, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'b' });
    await a.modelsLoaded;
    await until(async () => JSON.stringify(await readiness(b)) === '{"status":"ready","events":{"bus":"nats","connected":true}}', 10_000);
    await until(async () => JSON.stringify(await readiness(a)) === '{"status":"ready","events":{"bus":"nats","connected":true}}', 10_000);
    const onB = await subscriber(b, 'jobs');
    const png = await solidImage('png', 8, 8, [200, 10, 10]);
    const res = await fetch(`${a.url}/v1/jobs?model=cls`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // queued, running, succeeded: every state change of a job on A reaches B's subscriber, in order.
    await until(async () => onB.received.filter((f) => idOf(f) === id && statusOf(f) === 'succeeded').length === 1, 20_000);
    const states = onB.received.slice(1).map((f) => [f.event, idOf(f), statusOf(f)]);
    expect(states).toEqual([
      ['job.updated', id, 'queued'],
      ['job.updated', id, 'running'],
      ['job.updated', id, 'succeeded'],
    ]);
  });

  it('starts without NATS, keeps local events, reports the bus down, and relays once NATS is back', async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const subject = uniqueName('sightline.test.');
    const a = await replica({ SIGHTLINE_EVENTS_URL: url, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'a' });
    const b = await replica({ SIGHTLINE_EVENTS_URL: url, SIGHTLINE_EVENTS_SUBJECT: subject, SIGHTLINE_REPLICA_ID: 'b' });
    expect(await readiness(a)).toEqual({ status: 'ready', events: { bus: 'nats', connected: false } });
    const onA = await subscriber(a, 'detections');
    const onB = await subscriber(b, 'detections');
    const local = await post(a, 'while-down');
    expect((await events(onA, 1)).map((f) => idOf(f))).toEqual([local]);
    expect(await onB.unread(200)).toEqual([]);

    const nats = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    natsServers.push(nats);
    for (const s of [a, b])
      await until(async () => JSON.stringify(await readiness(s)) === '{"status":"ready","events":{"bus":"nats","connected":true}}', 20_000);
    const crossed = await post(a, 'after');
    expect((await events(onB, 1)).map((f) => idOf(f))).toEqual([crossed]);

    // Lost again: each replica keeps its own events, says so, and relays again after the next start.
    nats.kill('SIGKILL');
    await until(async () => JSON.stringify(await readiness(a)) === '{"status":"ready","events":{"bus":"nats","connected":false}}', 20_000);
    const before = onA.received.length;
    const stillLocal = await post(a, 'down-again');
    await until(async () => onA.received.length > before, 5000);
    expect(idOf(onA.received.at(-1)!)).toBe(stillLocal);
    const again = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    natsServers.push(again);
    for (const s of [a, b])
      await until(async () => JSON.stringify(await readiness(s)) === '{"status":"ready","events":{"bus":"nats","connected":true}}', 20_000);
    const later = await post(b, 'back');
    await until(async () => onA.received.some((f) => idOf(f) === later), 10_000);
  }, 120_000);
});
