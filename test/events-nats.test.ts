/**
 * Events between replicas through the machine's NATS: servers in this process, each with its own
 * SQLite, sharing one subject; and private nats-servers that go away and come back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server as TcpServer } from 'node:net';
import { connect, headers } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../dist/bench/replica-set.js';
import type { Logger } from '../dist/src/logger.js';
import { solidImage } from './helpers/images.js';
import { rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import { NATS_URL, uniqueName } from './helpers/services.js';
import { type Frame, FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = Record<string, unknown>;

const servers: Server[] = [];
const sockets: FrameClient[] = [];
const natsServers: ChildProcess[] = [];
const listeners: TcpServer[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  for (const n of natsServers) n.kill('SIGKILL');
  for (const l of listeners) l.close();
  await Promise.all(servers.map((s) => s.close()));
});

const CONNECTED = { status: 'ready', events: { bus: 'nats', connected: true } };
const DISCONNECTED = { status: 'ready', events: { bus: 'nats', connected: false } };

/** A logger that keeps every line it writes, to count warnings. */
function capturedLogger(): { logger: Logger; lines: Json[]; messages: (msg: string) => number } {
  const lines: Json[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Json) }) as unknown as Logger;
  return { logger, lines, messages: (msg) => lines.filter((l) => l.msg === msg).length };
}

async function replica(env: Record<string, string>, logger?: Logger): Promise<Server> {
  const server = await startTestServer(env, logger === undefined ? {} : { logger });
  servers.push(server);
  return server;
}

const onBus = (url: string, subject: string, id: string, extra: Record<string, string> = {}) => ({
  SIGHTLINE_EVENTS_URL: url,
  SIGHTLINE_EVENTS_SUBJECT: subject,
  SIGHTLINE_REPLICA_ID: id,
  ...extra,
});

/** A nats-server of the test's own, on `port`, killed after the file. */
function natsServer(port: number, ...args: string[]): ChildProcess {
  const child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: 'ignore' });
  natsServers.push(child);
  return child;
}

async function subscriber(server: Server, ...topics: string[]): Promise<FrameClient> {
  const socket = await FrameClient.open(`${server.url.replace('http://', 'ws://')}/v1/ws`);
  sockets.push(socket);
  expect(await socket.ask({ type: 'subscribe', topics })).toEqual({ type: 'subscribed', topics });
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

/** Every frame after the subscribe answer, once `n` have come, and a little later for stragglers (duplicates). */
async function events(socket: FrameClient, n: number, timeoutMs = 20_000): Promise<Frame[]> {
  const deadline = Date.now() + timeoutMs;
  while (socket.received.length < n + 1 && Date.now() < deadline) await sleep(20);
  await sleep(500);
  return socket.received.slice(1);
}

async function readiness(server: Server): Promise<unknown> {
  return (await fetch(`${server.url}/health/ready`)).json();
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function ready(server: Server, answer: unknown, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => JSON.stringify(await readiness(server)) === JSON.stringify(answer),
    timeoutMs,
    `${server.config.replicaId} answering ${JSON.stringify(answer)}`,
  );
}

describe('events through NATS', () => {
  it('delivers every detection posted to either replica to the subscribers of both, each exactly once, as stored; ignores what is not an event', async () => {
    const subject = uniqueName('sightline.test.');
    const logA = capturedLogger();
    const a = await replica(onBus(NATS_URL, subject, 'a'), logA.logger);
    const b = await replica(onBus(NATS_URL, subject, 'b'));
    const other = await replica(onBus(NATS_URL, uniqueName('sightline.test.'), 'c'));
    for (const s of [a, b, other]) await ready(s, CONNECTED);
    const onA = await subscriber(a, 'detections');
    const onB = await subscriber(b, 'detections');
    const onOther = await subscriber(other, 'detections');

    // Others publishing on the subject: no headers, an unknown event, a topic nobody could subscribe to, data that is not JSON.
    const stranger = await connect({ servers: NATS_URL });
    const junk = (event: string, topics: string, data: string) => {
      const h = headers();
      h.set('Sightline-Event', event);
      h.set('Sightline-Topics', topics);
      stranger.publish(subject, data, { headers: h });
    };
    stranger.publish(subject, '{"id":"no-headers"}');
    junk('detection.exploded', '["detections"]', '{"id":"unknown-event"}');
    junk('detection.created', '["nope"]', '{"id":"bad-topic"}');
    junk('detection.created', '["detections"]', '{"id":');
    await stranger.flush();
    await stranger.close();

    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await post(i % 2 === 0 ? a : b, `t-${i}`));
    const gotA = await events(onA, 50);
    const gotB = await events(onB, 50);
    for (const got of [gotA, gotB]) {
      expect(got.map((f) => idOf(f)).sort()).toEqual([...ids].sort());
      expect(got.every((f) => f.type === 'event' && f.topic === 'detections' && f.event === 'detection.created')).toBe(true);
    }
    // The data is what GET answers on the replica that stored it, on both replicas.
    for (const [i, id] of ids.entries()) {
      const stored = await (await fetch(`${(i % 2 === 0 ? a : b).url}/v1/detections/${id}`)).json();
      expect(gotA.find((f) => idOf(f) === id)!.data).toEqual(stored);
      expect(gotB.find((f) => idOf(f) === id)!.data).toEqual(stored);
    }
    // Another deployment's subject hears nothing of it.
    expect(await onOther.unread(300)).toEqual([]);
    expect(logA.messages('events: ignoring a message on the events subject that is not a sightline event')).toBe(1);
  }, 120_000);

  it('relays job and model events too', async () => {
    const subject = uniqueName('sightline.test.');
    const models = makeModelRepo({ cls: rgbClassifierEntry() });
    const a = await replica(onBus(NATS_URL, subject, 'a', { SIGHTLINE_MODELS_DIR: models }));
    const b = await replica(onBus(NATS_URL, subject, 'b'));
    await a.modelsLoaded;
    for (const s of [a, b]) await ready(s, CONNECTED);
    const onB = await subscriber(b, 'jobs', 'models');
    const png = await solidImage('png', 8, 8, [200, 10, 10]);
    const res = await fetch(`${a.url}/v1/jobs?model=cls`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // queued, running, succeeded: every state change of a job on A reaches B's subscriber, in order,
    // and so does every state of A's model, naming the replica it is on.
    await until(() => onB.received.some((f) => idOf(f) === id && statusOf(f) === 'succeeded'), 30_000, 'the job succeeding on B');
    expect((await fetch(`${a.url}/v1/models/cls/unload`, { method: 'POST' })).status).toBe(200);
    await until(() => onB.received.some((f) => f.event === 'model.state' && (f.data as Json).state === 'unloaded'), 20_000, 'the unload reaching B');
    await sleep(500);
    expect(
      onB.received.slice(1).map((f) => [f.topic, f.event, idOf(f) ?? (f.data as Json).name, statusOf(f) ?? (f.data as Json).state, (f.data as Json).replica]),
    ).toEqual([
      ['jobs', 'job.updated', id, 'queued', null],
      ['jobs', 'job.updated', id, 'running', 'a'],
      ['jobs', 'job.updated', id, 'succeeded', 'a'],
      ['models', 'model.state', 'cls', 'unloading', 'a'],
      ['models', 'model.state', 'cls', 'unloaded', 'a'],
    ]);
  }, 120_000);

  it('reaches the detection listeners of other replicas: a profile socket hears of detections stored and deleted elsewhere', async () => {
    const subject = uniqueName('sightline.test.');
    const a = await replica(onBus(NATS_URL, subject, 'a'));
    const b = await replica(onBus(NATS_URL, subject, 'b', { SIGHTLINE_PROFILES: 'vehicle-monitoring' }));
    for (const s of [a, b]) await ready(s, CONNECTED);
    const phone = await FrameClient.open(`${b.url.replace('http://', 'ws://')}/ws`);
    sockets.push(phone);
    const onB = await subscriber(b, 'detections');
    const id = await post(a, 'remote-7');
    expect(await phone.next(20_000)).toEqual({
      type: 'detection',
      id,
      tracking_id: 'remote-7',
      vehicle_type: 'car',
      camera: 'cam-relay',
      timestamp: '2023-11-14T22:13:20.000Z',
      confidence: 0.5,
      image: null,
    });
    expect((await fetch(`${a.url}/v1/detections/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await phone.next(20_000)).toEqual({ type: 'deleted', id });
    const got = await events(onB, 2);
    expect(got.map((f) => [f.event, idOf(f)])).toEqual([
      ['detection.created', id],
      ['detection.deleted', id],
    ]);
    expect(await phone.unread(300)).toEqual([]);
  }, 120_000);

  it('starts without NATS, keeps local events, reports the bus down, and relays once NATS is back; warns once per outage', async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const subject = uniqueName('sightline.test.');
    const logA = capturedLogger();
    const a = await replica(onBus(url, subject, 'a'), logA.logger);
    const b = await replica(onBus(url, subject, 'b'));
    expect(await readiness(a)).toEqual(DISCONNECTED);
    expect(await readiness(b)).toEqual(DISCONNECTED);
    const onA = await subscriber(a, 'detections');
    const onB = await subscriber(b, 'detections');
    const whileDown = await post(a, 'while-down');
    await until(() => onA.received.length === 2, 10_000, 'the local event');

    let nats = natsServer(port);
    for (const s of [a, b]) await ready(s, CONNECTED);
    const after = await post(a, 'after');
    await until(() => onB.received.length === 2, 20_000, 'the event crossing');

    // Lost again: each replica keeps its own events (not kept for later), says so, and relays again after the next start.
    nats.kill('SIGKILL');
    for (const s of [a, b]) await ready(s, DISCONNECTED);
    const downAgain = await post(a, 'down-again');
    await until(() => onA.received.length === 4, 10_000, 'the local event while down');
    // Several reconnect attempts fail meanwhile; the warning is still said once.
    await sleep(2500);
    nats = natsServer(port);
    for (const s of [a, b]) await ready(s, CONNECTED);
    const back = await post(b, 'back');
    await until(() => onA.received.length === 5, 20_000, 'the event crossing again');

    expect((await events(onA, 4)).map(idOf)).toEqual([whileDown, after, downAgain, back]);
    expect((await events(onB, 2)).map(idOf)).toEqual([after, back]);
    expect(
      [
        'events go through NATS to every replica',
        'events: NATS not reachable; relaying to local subscribers only until it is back',
        'events: connected to NATS; relaying between replicas',
        'events: NATS connection lost; relaying to local subscribers only until it is back',
        'events: NATS connection back; relaying between replicas again',
      ].map(logA.messages),
    ).toEqual([1, 1, 1, 1, 1]);
  }, 180_000);

  it('takes credentials from the URL, and never logs them', async () => {
    const port = await freePort();
    natsServer(port, '--user', 'relay', '--pass', 's3cr@t');
    const subject = uniqueName('sightline.test.');
    const logA = capturedLogger();
    const logWrong = capturedLogger();
    const a = await replica(onBus(`nats://relay:s3cr%40t@127.0.0.1:${port}`, subject, 'a'), logA.logger);
    const b = await replica(onBus(`nats://relay:s3cr%40t@127.0.0.1:${port}`, subject, 'b'));
    const wrong = await replica(onBus(`nats://relay:guess@127.0.0.1:${port}`, subject, 'wrong'), logWrong.logger);
    for (const s of [a, b]) await ready(s, CONNECTED);
    const onB = await subscriber(b, 'detections');
    const onWrong = await subscriber(wrong, 'detections');
    const id = await post(a, 'with-password');
    expect((await events(onB, 1)).map(idOf)).toEqual([id]);
    // Refused by the server: it goes on without the bus, and says why once.
    expect(await readiness(wrong)).toEqual(DISCONNECTED);
    expect(await onWrong.unread(300)).toEqual([]);
    const refused = logWrong.lines.filter((l) => l.msg === 'events: NATS not reachable; relaying to local subscribers only until it is back');
    expect(refused.map((l) => [l.natsServer, l.err])).toEqual([[`127.0.0.1:${port}`, 'Authorization Violation']]);
    // A user name alone is a token.
    const tokenPort = await freePort();
    natsServer(tokenPort, '--auth', 'tok3n');
    const logToken = capturedLogger();
    await ready(await replica(onBus(`nats://tok3n@127.0.0.1:${tokenPort}`, uniqueName('sightline.test.'), 'token'), logToken.logger), CONNECTED);
    const secrets = /s3cr|guess|tok3n/;
    expect([...logA.lines, ...logWrong.lines, ...logToken.lines].filter((l) => secrets.test(JSON.stringify(l)))).toEqual([]);
  }, 120_000);

  it('stops trying once closed, even when NATS never answered', async () => {
    // Plain TCP listeners that count the dials reaching them, opened once the servers are up.
    const dials = async (port: number) => {
      const counted = { n: 0 };
      const listener = createServer((socket) => {
        counted.n++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
      listeners.push(listener);
      return counted;
    };
    const [closedPort, openPort] = [await freePort(), await freePort()];
    const closed = await startTestServer(onBus(`nats://127.0.0.1:${closedPort}`, uniqueName('sightline.test.'), 'closed'));
    await replica(onBus(`nats://127.0.0.1:${openPort}`, uniqueName('sightline.test.'), 'open'));
    await sleep(1500);
    await closed.close();
    const [toClosed, toOpen] = [await dials(closedPort), await dials(openPort)];
    // Several retry periods: the open server dials again each one, the closed one never.
    await sleep(3500);
    expect(toClosed.n).toBe(0);
    expect(toOpen.n).toBeGreaterThan(0);
  }, 120_000);
});
