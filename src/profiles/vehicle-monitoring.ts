import type { WebSocketBehavior } from 'uWebSockets.js';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { readJson } from '../http/body/json.js';
import { json } from '../http/reply.js';
import { checkImage, putImage } from '../http/routes/images.js';
import { base64Image, MAX_TEXT, parseTime } from '../http/schemas/field-types.js';
import { parseParams, parseQuery, parseWith } from '../http/schemas/request-validation.js';
import { hubSocket } from '../http/websocket/hub-socket.js';
import type { HubSocket } from '../hub/hub.js';
import type { Detection } from '../store/index.js';
import { detailErrors } from './error-shapes.js';
import type { ProfileContext, ProfileDefinition, ProfileRoute, ProfileSocket } from './profile.js';
import { route, routeTable } from './route-table.js';

/** Each field under its plainest name, then the spellings clients also use. */
const FIELDS = {
  tracking_id: ['tracking_id', 'track_id', 'trackingId', 'trackId'],
  vehicle_type: ['vehicle_type', 'vehicleType', 'type', 'label'],
  camera: ['camera', 'camera_id', 'cameraId', 'camera_name', 'source'],
  timestamp: ['timestamp', 'detected_at', 'detectedAt', 'time'],
  image: ['image', 'image_base64', 'imageBase64', 'snapshot', 'frame'],
} as const;

const textRule = `must be a non-empty string of at most ${MAX_TEXT} characters`;
const textField = z
  .union([z.string(), z.number().int().nonnegative()], { error: textRule })
  .transform((v) => String(v))
  .pipe(z.string().min(1, { error: textRule }).max(MAX_TEXT, { error: textRule }));

const TIME_RULE = 'must be an ISO 8601 date-time (read as UTC without a zone), or epoch seconds or milliseconds';
/** Python clients send `datetime.now().isoformat()` (no zone) or `time.time()` (seconds, with a fraction). */
function readTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value < 1e11 ? value * 1000 : value);
  if (typeof value !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return readTimestamp(Number(value));
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
  return parseTime(zoned.replace(/(\.\d{3})\d+/, '$1'));
}

const anyOf = (names: readonly string[], schema: z.ZodType) => Object.fromEntries(names.map((n) => [n, schema.optional()]));

/** POST /api/detect: tracking id, vehicle type, camera, timestamp (now when left out), base64 snapshot. */
const detectBody = z
  .object({
    ...anyOf(FIELDS.tracking_id, textField),
    ...anyOf(FIELDS.vehicle_type, textField),
    ...anyOf(FIELDS.camera, textField),
    ...anyOf(FIELDS.timestamp, z.unknown()),
    ...anyOf(FIELDS.image, base64Image('the snapshot, base64 or a data: URL')),
    confidence: z.number().min(0).max(1).optional().describe('0 to 1; 1 when left out'),
    box: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional().describe('[x1, y1, x2, y2] in snapshot pixels'),
  })
  .transform((body, ctx) => {
    const pick = (names: readonly string[]) => names.map((n) => (body as Record<string, unknown>)[n]).find((v) => v !== undefined);
    const need = (key: keyof typeof FIELDS, rule: string) => {
      const value = pick(FIELDS[key]);
      if (value === undefined) ctx.addIssue({ code: 'custom', path: [key], message: rule });
      return value;
    };
    const trackingId = need('tracking_id', textRule) as string;
    const vehicleType = need('vehicle_type', textRule) as string;
    const camera = need('camera', textRule) as string;
    const rawTime = pick(FIELDS.timestamp);
    const detectedAt = rawTime === undefined ? Date.now() : readTimestamp(rawTime);
    if (detectedAt === undefined) ctx.addIssue({ code: 'custom', path: ['timestamp'], message: TIME_RULE });
    const image = pick(FIELDS.image) as Buffer | undefined;
    return { trackingId, vehicleType, camera, detectedAt: detectedAt!, image, confidence: body.confidence ?? 1, box: body.box ?? null };
  })
  .meta({
    id: 'VehicleDetection',
    description:
      'A detection from the AI unit: `tracking_id`, `vehicle_type`, `camera`, `timestamp` and a base64 `image`. ' +
      `Also accepted: ${Object.values(FIELDS)
        .map((names) => names.slice(1).join(', '))
        .join('; ')}.`,
  });

const logEntry = z.strictObject({
  id: z.string(),
  tracking_id: z.string(),
  vehicle_type: z.string(),
  camera: z.string(),
  timestamp: z.string().describe('ISO 8601, UTC'),
  confidence: z.number(),
  image_url: z.string().nullable().describe('the snapshot: GET it (with a key holding `read` when keys are configured)'),
});

const detectAnswer = z.strictObject({ status: z.literal('success'), id: z.string(), message: z.string() });
const statsAnswer = z.strictObject({
  total_vehicles: z.int(),
  counts_by_type: z.record(z.string(), z.int()),
  recent_logs: z.array(logEntry).describe('newest first'),
});
const deleteAnswer = z.strictObject({ status: z.literal('success'), id: z.string(), message: z.string() });
const statsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(10).describe('recent logs to list, 1 to 100') });
const idParams = z.object({ id: z.string().describe('the id POST /api/detect answered') });

/** What the socket pushes: every new detection with its snapshot, and every deletion. */
const pushedDetection = logEntry
  .omit({ image_url: true })
  .extend({ type: z.literal('detection'), image: z.string().nullable().describe('the snapshot, base64') });
const pushedDeletion = z.strictObject({ type: z.literal('deleted'), id: z.string() });

function logOf(profile: ProfileContext, d: Detection): z.output<typeof logEntry> {
  return {
    id: d.id,
    tracking_id: d.trackId,
    vehicle_type: d.label,
    camera: d.cameraId,
    timestamp: new Date(d.detectedAt).toISOString(),
    confidence: d.confidence,
    image_url: d.imageSha256 === null ? null : `/v1/images/${d.imageSha256}`,
  };
}

/**
 * Every connected client gets every detection, as it is stored (through this profile or the
 * native API), and every deletion: no subscribe frame. Frames go out in the order things happened.
 */
class LiveFeed {
  private readonly sockets = new Set<HubSocket>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly profile: ProfileContext) {
    profile.feed.listen({
      listening: () => this.sockets.size > 0,
      stored: (detections) =>
        this.enqueue(async () => {
          for (const d of detections) this.broadcast(JSON.stringify({ type: 'detection', ...(await this.frameOf(d)) }));
        }),
      deleted: ({ id }) => this.enqueue(async () => this.broadcast(JSON.stringify({ type: 'deleted', id }))),
    });
  }

  private async frameOf(d: Detection): Promise<Omit<z.output<typeof pushedDetection>, 'type'>> {
    const { image_url: _url, ...log } = logOf(this.profile, d);
    let image: string | null = null;
    if (d.imageSha256 !== null) {
      const stored = await this.profile.store.blobs.get(d.imageSha256);
      if (stored !== undefined) image = (await stored.read()).toString('base64');
    }
    return { ...log, image };
  }

  private enqueue(task: () => Promise<void>): void {
    if (this.sockets.size === 0) return;
    this.chain = this.chain
      .then(task)
      .catch((err: unknown) => this.profile.logger.warn({ err: (err as Error)?.message }, 'vehicle-monitoring: could not push to clients'));
  }

  private broadcast(text: string): void {
    for (const ws of this.sockets) this.profile.hub.send(ws, text);
  }

  behavior(limits: Parameters<ProfileSocket['behavior']>[0]): WebSocketBehavior<unknown> {
    return hubSocket(this.profile.hub, limits, {
      opened: (ws) => this.sockets.add(ws),
      // The app keeps the socket open by sending text; nothing it sends needs an answer.
      message: () => {},
      closed: (ws) => this.sockets.delete(ws),
    });
  }
}

/**
 * The vehicle detection and monitoring backend (FastAPI): edge cameras post detections with a
 * snapshot, phones watch them live over a WebSocket, and read counts and recent logs.
 */
export const vehicleMonitoringProfile: ProfileDefinition = {
  name: 'vehicle-monitoring',
  description:
    'The vehicle detection and monitoring backend (FastAPI): POST /api/detect from the AI unit, WS /ws pushing every detection with its ' +
    'snapshot to every client, GET /api/stats, DELETE /api/delete/{id}. Errors are `{"detail": "…"}`.',
  errors: detailErrors,
  routes(profile): ProfileRoute[] {
    const { store, feed, config } = profile;
    const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
    return routeTable({
      detect: route('POST /api/detect', 'ingest', 'Log a detection from the AI unit, with its snapshot, and push it to every connected client', {
        handler: async (rc) => {
          const posted = parseWith(detectBody, await readJson(rc, config.maxJsonBytes));
          const image = posted.image === undefined ? undefined : await checkImage(posted.image, limits, 'image');
          const imageSha256 = image === undefined ? null : (await putImage(store, posted.image!, image)).sha256;
          const [id] = await store.detections.insertMany([
            {
              cameraId: posted.camera,
              trackId: posted.trackingId,
              label: posted.vehicleType,
              confidence: posted.confidence,
              box: posted.box,
              detectedAt: posted.detectedAt,
              imageSha256,
              meta: null,
              verify: null,
            },
          ]);
          feed.announce([id], [posted.camera]);
          return json({ status: 'success', id: id, message: 'detection logged' } satisfies z.output<typeof detectAnswer>);
        },
        body: { json: detectBody },
        responses: { 200: { description: 'stored and durable', json: detectAnswer } },
        errors: {
          413: 'the body or the snapshot is over its limit',
          415: 'the snapshot is not an image the server recognises',
          422: 'the snapshot could not be decoded',
        },
      }),
      stats: route('GET /api/stats', 'read', 'Total vehicles, counts by type and the recent logs', {
        handler: async (rc) => {
          const { limit } = parseQuery(rc, statsQuery);
          const stats = await store.detections.stats({ bucket: 'day', latest: limit });
          return json({
            total_vehicles: stats.total,
            counts_by_type: stats.byLabel,
            recent_logs: stats.latest.map((d) => logOf(profile, d)),
          } satisfies z.output<typeof statsAnswer>);
        },
        query: statsQuery,
        responses: { 200: { description: 'the counts', json: statsAnswer } },
      }),
      delete: route('DELETE /api/delete/:id', 'admin', 'Remove an erroneous log (and its snapshot), and tell every connected client', {
        handler: async (rc) => {
          const { id } = parseParams(rc, idParams);
          const detection = await store.detections.get(id);
          if (detection === undefined || !(await feed.remove(detection.id))) throw notFound(`log ${id} not found`);
          // The snapshot goes with its log, unless something else still refers to it.
          if (detection.imageSha256 !== null) await store.blobs.delete(detection.imageSha256).catch(() => false);
          return json({ status: 'success', id: detection.id, message: 'log deleted' } satisfies z.output<typeof deleteAnswer>);
        },
        params: idParams,
        responses: { 200: { description: 'deleted', json: deleteAnswer } },
        errors: { 404: 'no log with this id' },
      }),
    });
  },
  sockets(profile) {
    const live = new LiveFeed(profile);
    return [
      {
        path: '/ws',
        access: 'read',
        behavior: (limits) => live.behavior(limits),
        schema: {
          operationId: 'liveFeed',
          summary: 'WebSocket: every detection as it is logged, with its snapshot, and every deletion; no subscribe frame needed',
          responses: { 101: { description: 'switching to the WebSocket protocol' } },
          errors: { 400: 'a malformed handshake', 426: 'a plain HTTP request', 503: 'the server is shutting down' },
          websocket: {
            client: z.string().describe('anything: text the app sends to keep the socket open is read and ignored'),
            server: z.union([pushedDetection, pushedDeletion]).meta({ id: 'VehicleLiveFrame' }),
            closeCodes: { 1001: 'the server is shutting down', 4000: 'the client read too slowly (its queue passed the backpressure limit)' },
          },
        },
      },
    ];
  },
};
