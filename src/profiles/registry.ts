import path from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { SightlineError } from '../errors.js';
import type { ScopeEntry } from '../http/auth/route-scopes.js';
import type { HttpGuard } from '../http/auth/http-guard.js';
import type { KeyRing } from '../http/auth/key-ring.js';
import type { Reply } from '../http/reply.js';
import type { Route } from '../http/router.js';
import type { TemplatedApp } from '../http/uws.js';
import { handshakeRefusal, upgradeRequired } from '../http/websocket/handshake.js';
import type { WebSocketLimits } from '../http/websocket/transport-limits.js';
import type { ModelSpec } from '../engine/manifest.js';
import type { ProfileName, ProfileSetting } from '../profile-settings.js';
import { reshapedReply, shapedError, type ErrorShape } from './error-shapes.js';
import { carSegmentationProfile } from './car-segmentation.js';
import { damageAssessmentProfile } from './damage-assessment.js';
import { fractureProfile } from './fracture.js';
import { imageAnalysisProfile } from './image-analysis.js';
import { checkProfileModel } from './model-check.js';
import type { ProfileContext, ProfileDefinition, ProfileDeps, ProfileRoute, ProfileSocket } from './profile.js';
import { vehicleMonitoringProfile } from './vehicle-monitoring.js';

export const PROFILES: Readonly<Record<ProfileName, ProfileDefinition>> = {
  'damage-assessment': damageAssessmentProfile,
  'car-segmentation': carSegmentationProfile,
  'image-analysis': imageAnalysisProfile,
  'vehicle-monitoring': vehicleMonitoringProfile,
  fracture: fractureProfile,
};

/** Native routes a profile may take over: the console moves to /console, and /ping answers as every seed documents it. */
const YIELDING_NATIVE = new Set(['GET /', 'GET /ping']);

/** A profile checked against the configuration, before anything is opened. */
export interface PreparedProfile {
  definition: ProfileDefinition;
  setting: ProfileSetting;
  model: string | undefined;
  spec: ModelSpec | undefined;
}

/** Who owns a route in collision messages. */
const owner = (name: string | undefined) => (name === undefined ? 'sightline' : `profile ${name}`);

/** `GET /:image_id/status` → `GET /:/status`: two patterns that match the same requests. */
const shapeKey = (method: string, pattern: string) => `${method} ${pattern.replace(/:[A-Za-z0-9_]+/g, ':')}`;

export function mountedPath(prefix: string, routePath: string): string {
  if (prefix === '/') return routePath;
  return routePath === '/' ? prefix : `${prefix}${routePath}`;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const operationId = (profile: string, id: string) => `${camel(profile)}${id.charAt(0).toUpperCase()}${id.slice(1)}`;

/**
 * Checks every enabled profile against the configuration: its model is in the repository, loads,
 * and has a task the profile answers from; its own conditions (API keys) hold. Runs before the
 * store is opened, so a refused start leaves nothing behind.
 */
export function prepareProfiles(config: Config, keys: KeyRing): PreparedProfile[] {
  const prepared: PreparedProfile[] = [];
  for (const [name, setting] of Object.entries(config.profiles) as Array<[ProfileName, ProfileSetting]>) {
    const definition = PROFILES[name];
    if (setting.dataset !== undefined && !definition.takesDataset) throw new ConfigError(`profile ${name} takes no dataset`);
    const refusal = definition.refuse?.({ config, keys } as ProfileDeps);
    if (refusal !== undefined) throw new ConfigError(`profile ${name}: ${refusal}`);
    const model = definition.model ? (setting.model ?? definition.model.defaultName) : undefined;
    if (setting.model !== undefined && definition.model === undefined) throw new ConfigError(`profile ${name} runs no model; leave "model" out`);
    const spec = definition.model && model !== undefined ? checkProfileModel(config, name, model, definition.model) : undefined;
    prepared.push({ definition, setting, model, spec });
  }
  return prepared;
}

interface Mounted {
  profile: ProfileName;
  route: Route;
}

/** The enabled profiles, mounted: their routes, who may call them, their tags and sockets. */
export class MountedProfiles {
  private readonly mounted: Mounted[] = [];
  private readonly shapes = new Map<Route, ErrorShape>();
  private readonly sockets: Array<{ path: string; socket: ProfileSocket }> = [];
  readonly scopes: ScopeEntry[] = [];
  readonly tags: Array<{ name: string; description: string }> = [];
  /** What is mounted where, for the start-up log. */
  readonly summary: Array<{ profile: ProfileName; prefix: string; model: string | undefined }> = [];

  constructor(prepared: readonly PreparedProfile[], deps: ProfileDeps) {
    const claimed = new Map<string, { profile: ProfileName; pattern: string }>();
    for (const { definition, setting, model, spec } of prepared) {
      const prefix = setting.prefix;
      const ctx: ProfileContext = {
        ...deps,
        name: definition.name,
        prefix,
        model,
        spec,
        dataset: setting.dataset === undefined ? undefined : path.resolve(setting.dataset),
        mounted: (p) => mountedPath(prefix, p),
      };
      const routes: Route[] = definition.routes(ctx).map((r) => this.mount(definition, ctx, r));
      for (const socket of definition.sockets?.(ctx) ?? []) routes.push(this.mountSocket(definition, ctx, socket));
      for (const route of routes) {
        const key = shapeKey(route.method, route.path);
        const other = claimed.get(key);
        if (other !== undefined) {
          throw new ConfigError(
            `profiles ${other.profile} and ${definition.name} both claim ${route.method} ${route.path}` +
              `${other.pattern !== route.path ? ` (as ${other.pattern})` : ''}; mount one of them under another prefix`,
          );
        }
        claimed.set(key, { profile: definition.name, pattern: route.path });
        this.mounted.push({ profile: definition.name, route });
      }
      this.tags.push({ name: definition.name, description: definition.description });
      this.summary.push({ profile: definition.name, prefix, model });
    }
  }

  get count(): number {
    return this.tags.length;
  }

  /** Whether an enabled profile answers `method path` (e.g. GET /, which moves the console to /console). */
  claims(method: string, pattern: string): boolean {
    return this.mounted.some((m) => shapeKey(m.route.method, m.route.path) === shapeKey(method, pattern));
  }

  /**
   * The native routes with the profiles' added. A native GET / (the console, always at /console
   * too) or GET /ping gives way to a profile that claims it; any other native route a profile
   * claims stops the start, naming both, as does a parameter two patterns spell differently.
   */
  routes(native: readonly Route[]): Route[] {
    const kept = native.filter((r) => {
      const key = shapeKey(r.method, r.path);
      const taker = this.mounted.find((m) => shapeKey(m.route.method, m.route.path) === key);
      if (taker === undefined) return true;
      if (YIELDING_NATIVE.has(key)) return false;
      throw new ConfigError(
        `profile ${taker.profile} claims ${taker.route.method} ${taker.route.path}, which sightline serves itself; mount the profile under a prefix`,
      );
    });
    checkParameterNames([...kept.map((route) => ({ route, profile: undefined })), ...this.mounted]);
    return [...kept, ...this.mounted.map((m) => m.route)];
  }

  /** The HTTP guard, with refusals of profile routes (401, 403, 429) in the profile's error shape. */
  guard(admit: HttpGuard): HttpGuard {
    const shaped = (reply: Reply | undefined, route: Route): Reply | undefined => {
      const shape = reply === undefined ? undefined : this.shapes.get(route);
      return shape === undefined || reply === undefined ? reply : reshapedReply(shape, reply);
    };
    return (ctx, route) => {
      const reply = admit(ctx, route);
      return reply instanceof Promise ? reply.then((r) => shaped(r, route)) : shaped(reply, route);
    };
  }

  /** Registers the profiles' WebSocket routes on the (guarded) uWS app. */
  registerSockets(app: TemplatedApp, limits: WebSocketLimits): void {
    for (const { path: pattern, socket } of this.sockets) app.ws(pattern, socket.behavior(limits));
  }

  private mount(definition: ProfileDefinition, ctx: ProfileContext, route: ProfileRoute): Route {
    const shape = definition.errors;
    const inner = route.handler;
    const mounted: Route = {
      method: route.method,
      path: ctx.mounted(route.path),
      handler: async (rc) => {
        try {
          return await inner(rc);
        } catch (err) {
          if (!(err instanceof SightlineError) && !rc.aborted)
            ctx.logger.error({ err, reqId: rc.requestId, route: rc.routeName, profile: definition.name }, 'unhandled error in profile route');
          return shapedError(shape, err);
        }
      },
      ...(route.name !== undefined ? { name: route.name } : {}),
      ...(route.schema !== undefined
        ? { schema: { ...route.schema, operationId: operationId(definition.name, route.schema.operationId), tags: [definition.name], errorBody: shape.schema } }
        : {}),
    };
    this.shapes.set(mounted, shape);
    this.scopes.push({ method: mounted.method, path: mounted.path, access: route.access });
    return mounted;
  }

  private mountSocket(definition: ProfileDefinition, ctx: ProfileContext, socket: ProfileSocket): Route {
    const pattern = ctx.mounted(socket.path);
    this.sockets.push({ path: pattern, socket });
    const shape = definition.errors;
    return this.mount(definition, ctx, {
      method: 'GET',
      path: socket.path,
      access: socket.access,
      handler: (rc) => reshapedReply(shape, handshakeRefusal((name) => rc.headers[name]) ?? upgradeRequired()),
      schema: socket.schema,
    });
  }
}

/** Two patterns that name a parameter at the same place differently cannot share the router's trie. */
function checkParameterNames(routes: ReadonlyArray<{ route: Route; profile: ProfileName | undefined }>): void {
  const seen = new Map<string, { name: string; profile: ProfileName | undefined; pattern: string }>();
  for (const { route, profile } of routes) {
    const segments = route.path.split('/').slice(1);
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (!segment.startsWith(':')) continue;
      const at = segments
        .slice(0, i)
        .map((s) => (s.startsWith(':') ? ':' : s))
        .join('/');
      const other = seen.get(at);
      if (other === undefined) seen.set(at, { name: segment, profile, pattern: route.path });
      else if (other.name !== segment) {
        throw new ConfigError(
          `${owner(other.profile)} (${other.pattern}) and ${owner(profile)} (${route.path}) name the same path parameter differently; mount ` +
            `${profile ?? other.profile} under another prefix`,
        );
      }
    }
  }
}
