import { ConfigError, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { HttpApp } from './http/app.js';
import { Admission } from './http/auth/admission.js';
import { configuredKeys } from './http/auth/configured-keys.js';
import { assertSafeExposure, isLoopbackHost } from './http/auth/exposure.js';
import { httpGuard } from './http/auth/http-guard.js';
import { RouteAccessTable, routeScopes, withMountedScopes } from './http/auth/route-scopes.js';
import type { Access } from './http/auth/scopes.js';
import { RateLimiter, type RateLimitSpec } from './http/limits/rate-limiter.js';
import { requestLimiter } from './http/limits/shared-rate-limiter.js';
import { defaultBurst } from './http/limits/token-bucket.js';
import { Router, type Method, type Route } from './http/router.js';
import { detectionRoutes } from './http/routes/detections.js';
import { healthRoutes } from './http/routes/health.js';
import { imageRoutes } from './http/routes/images.js';
import { evaluationRoutes } from './http/routes/evaluations.js';
import { jobRoutes } from './http/routes/jobs.js';
import { modelRoutes } from './http/routes/models.js';
import { openInferenceRoutes } from './http/routes/v2/open-inference.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { uiRoutes } from './http/ui/routes.js';
import { openapiRoutes } from './http/openapi/routes.js';
import { guardUpgrades } from './http/websocket/upgrade-guard.js';
import { registerWebSocketRoutes, upgradeRequiredRoutes } from './http/websocket/routes.js';
import { loadUws } from './http/uws.js';
import { engineMetrics } from './metrics/engine-metrics.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { ModelRepository } from './engine/repository.js';
import { DetectionFeed } from './hub/detection-feed.js';
import { EventStream } from './hub/event-stream.js';
import { EventName, publishEvaluation, publishJob, publishModelState } from './hub/events.js';
import { NatsRelay } from './hub/nats-relay.js';
import { Hub } from './hub/hub.js';
import { evaluationView } from './evaluation/evaluation-view.js';
import { EvaluationRunner } from './evaluation/runner.js';
import { jobView } from './jobs/job-view.js';
import { JobRunner } from './jobs/runner.js';
import { usePolygonImplementation } from './polygons/index.js';
import { openStore, type Store } from './store/index.js';
import { MountedProfiles, prepareProfiles } from './profiles/registry.js';

export interface ServerHandle {
  readonly config: Config;
  readonly logger: Logger;
  readonly port: number;
  readonly url: string;
  readonly http: HttpApp;
  readonly models: ModelRepository;
  readonly store: Store;
  readonly hub: Hub;
  readonly jobs: JobRunner;
  readonly evaluations: EvaluationRunner;
  /** Every HTTP route with what it needs (WebSocket upgrades use their path's GET entry). */
  readonly routes: ReadonlyArray<{ method: Method; path: string; access: Access }>;
  /** Resolves once every configured model has loaded or failed. */
  readonly modelsLoaded: Promise<void>;
  /**
   * The first half of a rolling restart: /health/ready answers 503 (so a balancer takes this replica
   * out) while every request is still served, for `ms`; `close()` then stops accepting.
   */
  drain(ms: number): Promise<void>;
  /** Stops accepting, lets requests in flight finish (up to the shutdown deadline), then releases everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Extra routes (used by benchmarks and tests of the HTTP layer); they are public. */
  extraRoutes?: Route[];
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<ServerHandle> {
  // Every line says which replica wrote it: several write to one collector behind a balancer.
  const logger = (options.logger ?? createLogger(config.logLevel)).child({ replica: config.replicaId });
  // Key and exposure problems stop the start before anything is opened.
  const keys = configuredKeys(config);
  assertSafeExposure({ host: config.host, keys: keys.size, allowUnauthenticated: config.allowUnauthenticated });
  choosePolygons(config.polygons);
  // A profile whose model is missing or of another task stops the start here too.
  const prepared = prepareProfiles(config, keys);
  const { uws, native } = loadUws({ allowFallback: config.allowUwsFallback, warn: (m) => logger.warn(m) });

  // Instruments read the hub and the repository lazily, so they can be created first.
  let hub: Hub | undefined;
  let models: ModelRepository | undefined;
  const metrics = new ServerMetrics(
    {
      models: () => models?.queueGauges() ?? [],
      websockets: () => hub?.counters() ?? { connections: 0, slowConsumersClosed: 0 },
    },
    { replica: config.replicaId },
  );
  models = new ModelRepository({
    modelsDir: config.modelsDir,
    models: config.models,
    logger,
    observer: engineMetrics(metrics),
    dataDir: config.dataDir,
    calibrate: config.calibrate,
  });
  const store = await openStore({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    blobs: config.blobs,
    groupCommitMs: config.groupCommitMs,
    logger,
    onCommit: ({ latencyMs }) => metrics.dbCommitSeconds.observe(latencyMs / 1000),
  });
  hub = new Hub({ maxBackpressureBytes: config.wsMaxBackpressureBytes, maxInFlightBytes: config.wsMaxInFlightBytesTotal, logger });
  const events = new EventStream(hub);
  let relay: NatsRelay | undefined;
  if (config.eventsUrl !== '') {
    relay = new NatsRelay({
      url: config.eventsUrl,
      subject: config.eventsSubject,
      replicaId: config.replicaId,
      logger,
      arrive: (message) => events.arrive(message),
    });
    events.attach(relay);
  }
  const feed = new DetectionFeed(events, store, logger);
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  const jobs = new JobRunner({
    store,
    models,
    limits,
    concurrency: config.jobConcurrency,
    logger,
    replicaId: config.replicaId,
    leaseMs: config.jobLeaseMs,
    events: {
      changed: (job) => publishJob(events, jobView(job)),
      deleted: (id) => publishJob(events, { id }, EventName.jobDeleted),
    },
  });
  const evaluations = new EvaluationRunner({
    store,
    models,
    limits,
    logger,
    replicaId: config.replicaId,
    leaseMs: config.jobLeaseMs,
    events: {
      changed: (evaluation) => publishEvaluation(events, evaluationView(evaluation), EventName.evaluationUpdated),
      progress: (progress) => publishEvaluation(events, progress, EventName.evaluationProgress),
      deleted: (id) => publishEvaluation(events, { id }, EventName.evaluationDeleted),
    },
  });
  models.on('state', (status) => publishModelState(events, { ...status, replica: config.replicaId }));

  // Set by drain(): readiness fails first, so a balancer moves away before the replica stops accepting.
  let draining = false;
  const router = new Router();
  let profiles: MountedProfiles;
  let productRoutes: Route[];
  try {
    profiles = new MountedProfiles(prepared, { config, store, models, jobs, hub, feed, keys, logger });
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  const nativeRoutes = [
    ...healthRoutes({
      notReadyReasons: () => (draining ? [DRAINING_REASON, ...models.notReadyReasons()] : models.notReadyReasons()),
      events: () => events.relayState(),
    }),
    ...modelRoutes(models, config, store),
    ...jobRoutes({ store, models, runner: jobs, config }),
    ...evaluationRoutes({ store, models, runner: evaluations, config }),
    ...detectionRoutes({ store, models, feed, config }),
    ...imageRoutes(store, config),
    ...openInferenceRoutes(models, config),
    ...upgradeRequiredRoutes(),
    ...metricsRoutes(metrics),
    ...uiRoutes(),
    ...openapiRoutes(router, profiles),
  ];
  try {
    // Throws, naming both, for a profile route that collides with a native one.
    productRoutes = profiles.routes(nativeRoutes);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  for (const route of [...productRoutes, ...(options.extraRoutes ?? [])]) router.add(route);
  const scopeTable = new RouteAccessTable(withMountedScopes(routeScopes({ metricsPublic: config.metricsPublic }), profiles.scopes));
  const rateLimit = { rps: config.rateLimitRps, burst: config.rateLimitBurst || defaultBurst(config.rateLimitRps) };
  // Shared through Redis when SIGHTLINE_RATE_LIMIT_URL is set; failed authentications stay per replica.
  const limiter = await requestLimiter(config.rateLimitUrl, logger);
  const admission = new Admission({
    keys,
    limiter,
    rateLimit,
    authFailures: { limiter: new RateLimiter(), limit: { rps: config.authFailuresPerMinute / 60, burst: config.authFailuresPerMinute } },
    onRateLimited: (route) => metrics.rateLimited.inc({ route }),
  });
  const websocketLimits = {
    maxPayloadBytes: config.wsMaxPayloadBytes,
    idleTimeoutS: config.wsIdleTimeoutS,
    maxBackpressureBytes: config.wsMaxBackpressureBytes,
  };
  let accessByRoute: Map<Route, Access>;
  let http: HttpApp;
  try {
    // Both throw for a route missing from the scope table.
    accessByRoute = scopeTable.resolve(productRoutes);
    for (const route of options.extraRoutes ?? []) accessByRoute.set(route, 'public');
    http = new HttpApp({
      uws,
      router,
      logger,
      maxBodyBytes: config.maxBodyBytes,
      admit: profiles.guard(httpGuard(admission, accessByRoute)),
      observe: (route, method, status, seconds) => metrics.observeRequest(route, method, status, seconds),
      websockets: (app) => {
        const guarded = guardUpgrades(app, { admission, table: scopeTable, logger });
        registerWebSocketRoutes(guarded, hub, {
          repo: models,
          logger,
          limits: websocketLimits,
          image: limits,
          maxInFlight: config.wsMaxInFlight,
          maxInFlightBytes: config.wsMaxInFlightBytes,
        });
        profiles.registerSockets(guarded, websocketLimits);
      },
    });
  } catch (err) {
    await limiter.close();
    await store.close().catch(() => {});
    throw err;
  }
  let port: number;
  try {
    port = await http.listen(config.host, config.port);
  } catch (err) {
    await limiter.close();
    await store.close().catch(() => {});
    throw err;
  }
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ host: config.host, port, url, uwsNative: native, database: store.url }, `sightline listening on ${url}`);
  logAccessPolicy(logger, config, keys.size, rateLimit);
  for (const mounted of profiles.summary) logger.info(mounted, `profile ${mounted.profile} mounted at ${mounted.prefix}`);
  // Before the models load: NATS usually answers before they are ready. Events until then stay local.
  relay?.start();
  // Listening first lets /health/live answer while models load; /health/ready waits for them.
  const modelsLoaded = models.loadAll();
  // After loadAll has registered the models (as loading), so resumed jobs wait for theirs.
  try {
    await jobs.start();
    await evaluations.start();
  } catch (err) {
    await http.close(0);
    await modelsLoaded;
    await models.close();
    await limiter.close();
    await relay?.close();
    await store.close().catch(() => {});
    throw err;
  }

  let closing: Promise<void> | undefined;
  let drainingFor: Promise<void> | undefined;
  return {
    config,
    logger,
    port,
    url,
    http,
    models,
    store,
    hub,
    jobs,
    evaluations,
    routes: router.routes().map((r) => ({ method: r.method, path: r.path, access: accessByRoute.get(r)! })),
    modelsLoaded,
    drain(ms) {
      drainingFor ??= (async () => {
        draining = true;
        http.closeConnectionsAfterReplies();
        logger.info({ drainMs: ms, inFlight: http.requestsInFlight }, `draining: /health/ready answers 503 for ${ms} ms while requests are still served`);
        await new Promise((resolve) => setTimeout(resolve, ms));
      })();
      return drainingFor;
    },
    close() {
      closing ??= (async () => {
        const deadline = Date.now() + config.shutdownTimeoutMs;
        const left = () => Math.max(0, deadline - Date.now());
        logger.info({ inFlight: http.requestsInFlight, websockets: hub.counters().connections }, 'shutting down: no longer accepting connections');
        const [{ drained, abandoned }] = await Promise.all([http.close(config.shutdownTimeoutMs), hub.close(config.shutdownTimeoutMs)]);
        if (!drained) logger.warn({ abandoned }, 'shutdown deadline passed with requests still in flight');
        await jobs.stop(left());
        await evaluations.stop();
        await modelsLoaded;
        await models.close();
        await feed.settle();
        // After the last publish: what the feed announced still goes out to the other replicas.
        await relay?.close();
        await limiter.close();
        await store.close();
        logger.info('shutdown complete');
      })();
      return closing;
    },
  };
}

const DRAINING_REASON = 'draining: this replica is shutting down';

/** Says at start whether requests need keys and how they are limited. */
function logAccessPolicy(logger: Logger, config: Config, keys: number, limit: RateLimitSpec): void {
  const rateLimit = limit.rps > 0 ? limit : 'off';
  if (keys > 0) {
    logger.info({ auth: 'on', keys, rateLimit, metricsPublic: config.metricsPublic }, `authentication on: ${keys} API key${keys === 1 ? '' : 's'}`);
  } else if (isLoopbackHost(config.host)) {
    logger.info({ auth: 'off', rateLimit }, `authentication off: no API keys configured, so listening on loopback (${config.host}) only`);
  } else {
    logger.warn(
      { auth: 'off', rateLimit },
      `authentication off on ${config.host} (SIGHTLINE_ALLOW_UNAUTHENTICATED): anyone who can reach it may use every route`,
    );
  }
}

/** Made before any worker starts: workers inherit the choice. `native` without the addon stops the start. */
function choosePolygons(choice: Config['polygons']): void {
  try {
    usePolygonImplementation(choice);
  } catch (err) {
    throw new ConfigError(`SIGHTLINE_POLYGONS is ${choice}, but ${(err as Error).message}`);
  }
}
