import type { WebSocketBehavior } from 'uWebSockets.js';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { ModelSpec } from '../engine/manifest.js';
import type { ModelRepository } from '../engine/repository.js';
import type { Access } from '../http/auth/scopes.js';
import type { KeyRing } from '../http/auth/key-ring.js';
import type { Route } from '../http/router.js';
import type { WebSocketLimits } from '../http/websocket/transport-limits.js';
import type { DetectionFeed } from '../hub/detection-feed.js';
import type { Hub } from '../hub/hub.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Logger } from '../logger.js';
import type { ProfileName } from '../profile-settings.js';
import type { Store } from '../store/index.js';
import type { ErrorShape } from './error-shapes.js';

/** What a profile's routes run on: the same engine, store, jobs and hub as the native API. */
export interface ProfileDeps {
  config: Config;
  store: Store;
  models: ModelRepository;
  jobs: JobRunner;
  hub: Hub;
  feed: DetectionFeed;
  keys: KeyRing;
  logger: Logger;
}

/** One mounted profile as its routes see it. */
export interface ProfileContext extends ProfileDeps {
  name: ProfileName;
  /** `/` or `/segment…`, without a trailing slash. */
  prefix: string;
  /** The model (or pipeline) it runs; undefined for a profile that needs none. */
  model: string | undefined;
  /** Its spec as read at start; undefined for a pipeline or no model. */
  spec: ModelSpec | undefined;
  dataset: string | undefined;
  /** A path of this profile as clients see it (`/predict` → `/fracture/predict`). */
  mounted(path: string): string;
}

/** A route's document entry as a profile writes it: the registry tags it with the profile's name and adds its error body. */
export type ProfileRouteSchema = Omit<NonNullable<Route['schema']>, 'tags'>;

/** A route of a profile; `path` is relative to its prefix, `access` what a key needs once keys are configured. */
export interface ProfileRoute extends Omit<Route, 'schema'> {
  access: Access;
  schema?: ProfileRouteSchema;
}

/** A WebSocket route of a profile; its plain-GET side answers 426 and carries `schema` into the document. */
export interface ProfileSocket {
  path: string;
  access: Access;
  behavior(limits: WebSocketLimits): WebSocketBehavior<unknown>;
  schema: ProfileRouteSchema;
}

/** What the profile's model must be. */
export interface ModelNeed {
  /** The model name when the settings name none. */
  defaultName: string;
  /** Tasks the model may have (`pipeline` for a pipeline entry). */
  tasks: readonly string[];
  /** Further checks on the manifest: a problem in words, or undefined when it fits. */
  check?(spec: ModelSpec): string | undefined;
}

export interface ProfileDefinition {
  name: ProfileName;
  /** The OpenAPI tag's description: which service this profile stands in for. */
  description: string;
  /** Undefined for a profile that runs no model. */
  model?: ModelNeed;
  /** Profiles that evaluate read a dataset folder. */
  takesDataset?: boolean;
  errors: ErrorShape;
  /** Checks that need the whole configuration (a profile that needs API keys): a problem in words. */
  refuse?(deps: ProfileDeps): string | undefined;
  routes(ctx: ProfileContext): ProfileRoute[];
  sockets?(ctx: ProfileContext): ProfileSocket[];
}

/** The error body of a profile, for the document. */
export type ErrorBodySchema = z.ZodType;
