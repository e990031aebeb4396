import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { POLYGON_CHOICES } from './polygons/types.js';
import { PROFILE_SETTINGS_EXPECTED, profileSettingsSchema, type ProfileSettings } from './profile-settings.js';
import { DatabaseUrlError, defaultDatabaseUrl, parseDatabaseUrl, redactDatabaseUrl } from './store/database-url.js';

/**
 * One validated configuration object. Every setting has a default, an env var (`SIGHTLINE_*`), a
 * CLI flag and a key in the optional JSON config file. Precedence: default < file < env < flag.
 * The table `OPTIONS` below is the only list of settings: the `Config` type, the parsing of every
 * source and `--help` all come from it.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * How one kind of value is read. `schema` takes the text of an env var or flag, or the JSON value
 * of a file key; any failure is reported as "expected <expected>", except a refinement's own
 * message (a custom issue), which says more precisely what was wrong.
 */
interface ValueType<T> {
  schema: z.ZodType<T>;
  expected: string;
  /** Shown after the flag in --help; `undefined` for a switch, which needs no value on the command line. */
  placeholder: string | undefined;
  /** Relative paths are resolved against the working directory. */
  isPath?: true;
  choices?: readonly string[];
}

interface Setting<K extends string, T> {
  key: K;
  env: string;
  flag: string;
  type: ValueType<T>;
  /** The value when no source gives one; a function derives it from the settings above it in the table. */
  default: NoInfer<T> | ((earlier: Readonly<Record<string, unknown>>) => NoInfer<T>);
  /** The default as --help shows it, where the value itself would not say it. */
  shownDefault?: string;
  /** Overrides the type's placeholder in --help. */
  placeholder?: string;
  description: string;
  /** Holds credentials: messages never echo the value (a function shows it with the secret part masked). */
  secret?: true | ((value: string) => string);
}

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: MiB,
  mb: MiB,
  mib: MiB,
  g: 1024 * MiB,
  gb: 1024 * MiB,
  gib: 1024 * MiB,
};

/** An integer written as digits, with a size unit where `allowUnit`; undefined when it is not one. */
function wholeNumber(s: string, allowUnit: boolean): number | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  if (unit !== '' && !allowUnit) return undefined;
  const mult = UNITS[unit];
  if (mult === undefined) return undefined;
  const n = Number(m[1]) * mult;
  return Number.isInteger(n) ? n : undefined;
}

const range = (min: number, max: number | undefined) => `${min}${max !== undefined ? ` to ${max}` : ' or more'}`;

const text: ValueType<string> = { schema: z.string().min(1), expected: 'a non-empty string', placeholder: 'value' };

const directory: ValueType<string> = { ...text, placeholder: 'dir', isPath: true };

const list: ValueType<string[]> = {
  schema: z.union([
    z.array(z.string()),
    z.string().transform((s) =>
      s
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ]),
  expected: 'a comma-separated list',
  placeholder: 'names',
};

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off', ''];
const switchValue: ValueType<boolean> = {
  schema: z.union([
    z.boolean(),
    z
      .union([z.string(), z.number()])
      .transform((v) => String(v).toLowerCase())
      .pipe(z.enum([...TRUE_WORDS, ...FALSE_WORDS]))
      .transform((word) => TRUE_WORDS.includes(word)),
  ]),
  expected: 'true or false',
  placeholder: undefined,
};

function choice<const C extends readonly [string, ...string[]]>(choices: C): ValueType<C[number]> {
  return { schema: z.enum(choices), expected: `one of ${choices.join(', ')}`, placeholder: 'value', choices };
}

/** A whole number of `min`..`max`, given as a number or as text (with a KiB/MiB/GiB unit where `allowUnit`). */
function wholeSchema(min: number, max: number | undefined, allowUnit: boolean) {
  return z.union([z.number(), z.string().transform((s) => wholeNumber(s, allowUnit))]).pipe(
    z
      .int()
      .min(min)
      .max(max ?? Number.MAX_SAFE_INTEGER),
  );
}

function integer(min: number, max?: number): ValueType<number> {
  return { schema: wholeSchema(min, max, false), expected: `an integer of ${range(min, max)}`, placeholder: 'n' };
}

function byteSize(min: number, max?: number): ValueType<number> {
  return {
    schema: wholeSchema(min, max, true),
    expected: `a byte size (e.g. 1048576, 512KiB, 16MiB) of ${range(min, max)}`,
    placeholder: 'bytes',
  };
}

function decimal(min: number, max: number): ValueType<number> {
  return {
    schema: z
      .union([
        z.number(),
        z
          .string()
          .regex(/^\s*\d+(?:\.\d+)?\s*$/)
          .transform(Number),
      ])
      .pipe(z.number().min(min).max(max)),
    expected: `a number of ${range(min, max)}`,
    placeholder: 'n',
  };
}

const profiles: ValueType<ProfileSettings> = { schema: profileSettingsSchema, expected: PROFILE_SETTINGS_EXPECTED, placeholder: 'profiles' };

/** What the store can open; its own parser is the one check, so the two never disagree. */
const databaseUrl: ValueType<string> = {
  schema: z
    .string()
    .min(1)
    .superRefine((url, ctx) => {
      if (url === '') return;
      try {
        parseDatabaseUrl(url);
      } catch (err) {
        if (!(err instanceof DatabaseUrlError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.expected });
      }
    }),
  expected: 'a non-empty string',
  placeholder: 'url',
};

/** Empty (off) or a URL of one of `schemes`, e.g. `nats://127.0.0.1:4222`; credentials in it are never echoed. */
function serviceUrl(schemes: readonly string[]): ValueType<string> {
  const expected = `empty or a ${schemes.map((s) => `${s}://`).join(' or ')} URL`;
  return {
    schema: z.string().refine((url) => {
      if (url === '') return true;
      try {
        const parsed = new URL(url);
        return schemes.includes(parsed.protocol.replace(/:$/, '')) && parsed.hostname !== '';
      } catch {
        return false;
      }
    }, expected),
    expected,
    placeholder: 'url',
  };
}

/** Hides the password of a service URL in messages and --help. */
function redactServiceUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

/** A shared database or an event bus means replicas: SIGTERM then drains by default. */
const isClustered = (earlier: Readonly<Record<string, unknown>>): boolean =>
  String(earlier.databaseUrl).startsWith('mysql') || String(earlier.databaseUrl).startsWith('mariadb') || String(earlier.eventsUrl) !== '';

/** One row of the table; `K` and `T` are inferred, so the row types the key of `Config`. */
const setting = <K extends string, T>(row: Setting<K, T>): Setting<K, T> => row;

export const OPTIONS = [
  setting({ key: 'host', env: 'SIGHTLINE_HOST', flag: '--host', type: text, default: '127.0.0.1', description: 'address to listen on' }),
  setting({
    key: 'port',
    env: 'SIGHTLINE_PORT',
    flag: '--port',
    type: integer(0, 65535),
    default: 8080,
    description: 'port to listen on; 0 picks a free port (the bound port is logged)',
  }),
  setting({
    key: 'modelsDir',
    env: 'SIGHTLINE_MODELS_DIR',
    flag: '--models-dir',
    type: directory,
    default: './models',
    description: 'model repository: one folder per model with a model.json',
  }),
  setting({
    key: 'models',
    env: 'SIGHTLINE_MODELS',
    flag: '--models',
    type: list,
    default: [],
    shownDefault: '(all)',
    description: 'comma-separated model names to load (empty: every model in the repository)',
  }),
  setting<'profiles', ProfileSettings>({
    key: 'profiles',
    env: 'SIGHTLINE_PROFILES',
    flag: '--profiles',
    type: profiles,
    default: {},
    shownDefault: '(none)',
    description:
      'service profiles to mount: name, name=model, name@/prefix or name=model@/prefix, comma-separated (damage-assessment, ' +
      'car-segmentation, image-analysis, vehicle-monitoring, fracture); the config file takes {"<profile>": {"model", "prefix"}}',
  }),
  setting({
    key: 'dataDir',
    env: 'SIGHTLINE_DATA_DIR',
    flag: '--data-dir',
    type: directory,
    default: './data',
    description: 'where the embedded database and image blobs live',
  }),
  setting({
    key: 'calibrate',
    env: 'SIGHTLINE_CALIBRATE',
    flag: '--calibrate',
    type: switchValue,
    default: true,
    description:
      'time ONNX models on CPU whose manifest leaves instances or intraOpThreads open on a synthetic batch at load, and choose ' +
      'instances, threads and batching from the figures (cached in <data-dir>/calibration.json); false keeps the size rule',
  }),
  setting({
    key: 'databaseUrl',
    env: 'SIGHTLINE_DATABASE_URL',
    flag: '--database-url',
    type: databaseUrl,
    secret: redactDatabaseUrl,
    default: (earlier) => defaultDatabaseUrl(String(earlier.dataDir)),
    shownDefault: 'sqlite:<data-dir>/sightline.db',
    description: 'sqlite:<path> or mysql://user:pass@host:port/db (mariadb:// is the same)',
  }),
  setting({
    key: 'blobs',
    env: 'SIGHTLINE_BLOBS',
    flag: '--blobs',
    type: choice(['local', 'database']),
    default: 'local',
    description:
      'where image bytes live: local keeps files under <data-dir>/blobs (one machine); database keeps them in the database, ' +
      'in chunks, so replicas sharing a MySQL/MariaDB database share images without a shared disk',
  }),
  setting({
    key: 'replicaId',
    env: 'SIGHTLINE_REPLICA_ID',
    flag: '--replica-id',
    type: text,
    default: `${hostname()}-${process.pid}`,
    shownDefault: '<host name>-<pid>',
    description: "this replica's name in logs, metrics labels, /v1/models and job leases; unique per running replica",
  }),
  setting({
    key: 'eventsUrl',
    env: 'SIGHTLINE_EVENTS_URL',
    flag: '--events-url',
    type: serviceUrl(['nats']),
    secret: redactServiceUrl,
    default: '',
    shownDefault: '(local only)',
    description:
      'NATS server that carries events between replicas, e.g. nats://127.0.0.1:4222: every replica relays every event to its own ' +
      'WebSocket subscribers; empty keeps events inside this process',
  }),
  setting({
    key: 'eventsSubject',
    env: 'SIGHTLINE_EVENTS_SUBJECT',
    flag: '--events-subject',
    type: text,
    default: 'sightline.events',
    description: 'NATS subject the replicas of one deployment share (another deployment on the same NATS takes another)',
  }),
  setting({
    key: 'logLevel',
    env: 'SIGHTLINE_LOG_LEVEL',
    flag: '--log-level',
    type: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'log level',
  }),
  setting({
    key: 'polygons',
    env: 'SIGHTLINE_POLYGONS',
    flag: '--polygons',
    type: choice(POLYGON_CHOICES),
    default: 'auto',
    description:
      'mask-to-polygon tracing: auto takes the native addon when it loads and TypeScript otherwise; native refuses to start ' +
      'without the addon; typescript always takes the slower TypeScript twin',
  }),
  setting({
    key: 'maxBodyBytes',
    env: 'SIGHTLINE_MAX_BODY_BYTES',
    flag: '--max-body-bytes',
    type: byteSize(1024),
    default: 64 * MiB,
    description: 'hard limit on any request body (413 past it)',
  }),
  setting({
    key: 'maxJsonBytes',
    env: 'SIGHTLINE_MAX_JSON_BYTES',
    flag: '--max-json-bytes',
    type: byteSize(64),
    default: 24 * MiB,
    description: 'limit on JSON bodies (base64 images included)',
  }),
  setting({
    key: 'maxFileBytes',
    env: 'SIGHTLINE_MAX_FILE_BYTES',
    flag: '--max-file-bytes',
    type: byteSize(64),
    default: 16 * MiB,
    description: 'limit on one uploaded file or raw image body',
  }),
  setting({
    key: 'maxFiles',
    env: 'SIGHTLINE_MAX_FILES',
    flag: '--max-files',
    type: integer(1, 1024),
    default: 16,
    description: 'files per multipart request (batch predict size)',
  }),
  setting({
    key: 'maxFields',
    env: 'SIGHTLINE_MAX_FIELDS',
    flag: '--max-fields',
    type: integer(0, 1024),
    default: 32,
    description: 'non-file fields per multipart request',
  }),
  setting({
    key: 'maxImagePixels',
    env: 'SIGHTLINE_MAX_IMAGE_PIXELS',
    flag: '--max-image-pixels',
    type: integer(1),
    default: 40_000_000,
    description: 'decoded image size limit (decompression bombs get 413)',
  }),
  setting({
    key: 'shutdownTimeoutMs',
    env: 'SIGHTLINE_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms',
    type: integer(0),
    default: 10_000,
    description: 'how long in-flight requests may take to finish on SIGTERM/SIGINT',
  }),
  setting({
    key: 'drainMs',
    env: 'SIGHTLINE_DRAIN_MS',
    flag: '--drain-ms',
    type: integer(0, 600_000),
    default: (earlier) => (isClustered(earlier) ? 5000 : 0),
    shownDefault: '5000 with a MySQL database or an events URL, else 0',
    description:
      'on SIGTERM, how long /health/ready answers 503 while requests are still served, so a load balancer moves away before ' +
      'the replica stops accepting (SIGINT skips it)',
  }),
  setting({
    key: 'allowUwsFallback',
    env: 'SIGHTLINE_ALLOW_UWS_FALLBACK',
    flag: '--allow-uws-fallback',
    type: switchValue,
    default: false,
    description: 'start on the slow pure-JS HTTP fallback when the native uWebSockets.js binary cannot load',
  }),
  setting({
    key: 'groupCommitMs',
    env: 'SIGHTLINE_GROUP_COMMIT_MS',
    flag: '--group-commit-ms',
    type: integer(0, 1000),
    default: 2,
    description: 'writes arriving within this many ms share one durable commit; 0 commits each write alone',
  }),
  setting({
    key: 'jobLeaseMs',
    env: 'SIGHTLINE_JOB_LEASE_MS',
    flag: '--job-lease-ms',
    type: integer(1000, 3_600_000),
    default: 15_000,
    description:
      'a running job is leased to its replica for this long, renewed every third of it; when a replica dies, another takes ' +
      'its jobs over once their leases run out',
  }),
  setting({
    key: 'maxDetectionsPerRequest',
    env: 'SIGHTLINE_MAX_DETECTIONS_PER_REQUEST',
    flag: '--max-detections-per-request',
    type: integer(1, 10_000),
    default: 500,
    description: 'detections in one POST /v1/detections batch',
  }),
  setting({
    key: 'jobConcurrency',
    env: 'SIGHTLINE_JOB_CONCURRENCY',
    flag: '--job-concurrency',
    type: integer(1, 1024),
    default: 8,
    description: 'async jobs in flight at once (they share the model batchers at low priority)',
  }),
  setting({
    key: 'datasetsDir',
    env: 'SIGHTLINE_DATASETS_DIR',
    flag: '--datasets-dir',
    type: directory,
    default: (earlier) => path.join(String(earlier.dataDir), 'datasets'),
    shownDefault: '<data-dir>/datasets',
    description: 'labelled datasets (one folder each) that POST /v1/models/{name}/evaluate may name; nothing outside it is read',
  }),
  setting({
    key: 'wsMaxPayloadBytes',
    env: 'SIGHTLINE_WS_MAX_PAYLOAD_BYTES',
    flag: '--ws-max-payload-bytes',
    type: byteSize(1024, 64 * MiB),
    default: 64 * 1024,
    description: 'largest message a client may send on /v1/ws (larger: closed with 1009); predict sockets use --max-file-bytes',
  }),
  setting({
    key: 'wsIdleTimeoutS',
    env: 'SIGHTLINE_WS_IDLE_TIMEOUT_S',
    flag: '--ws-idle-timeout-s',
    type: integer(8, 960),
    default: 120,
    description: 'seconds a WebSocket may stay silent; the server pings before it expires',
  }),
  setting({
    key: 'wsMaxBackpressureBytes',
    env: 'SIGHTLINE_WS_MAX_BACKPRESSURE_BYTES',
    flag: '--ws-max-backpressure-bytes',
    type: byteSize(1024, 1024 * MiB),
    default: 1 * MiB,
    description: 'bytes queued for one WebSocket client before it is closed as a slow consumer (4000)',
  }),
  setting({
    key: 'wsMaxInFlight',
    env: 'SIGHTLINE_WS_MAX_IN_FLIGHT',
    flag: '--ws-max-in-flight',
    type: integer(1, 4096),
    default: 64,
    description: 'images one /v1/ws/predict socket may have in flight; more are answered with an overloaded error',
  }),
  setting({
    key: 'wsMaxInFlightBytes',
    env: 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES',
    flag: '--ws-max-in-flight-bytes',
    type: byteSize(1024, 64 * 1024 * MiB),
    default: 64 * MiB,
    description:
      'bytes of images one /v1/ws/predict socket may have in flight; frames past it are answered with an overloaded error and not kept ' +
      '(one image alone always fits)',
  }),
  setting({
    key: 'wsMaxInFlightBytesTotal',
    env: 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES_TOTAL',
    flag: '--ws-max-in-flight-bytes-total',
    type: byteSize(1024, 64 * 1024 * MiB),
    default: 256 * MiB,
    description: 'bytes of images all /v1/ws/predict sockets together may have in flight; frames past it are answered with an overloaded error and not kept',
  }),
  setting({
    key: 'apiKeys',
    env: 'SIGHTLINE_API_KEYS',
    flag: '--api-keys',
    type: list,
    placeholder: 'keys',
    secret: true,
    default: [],
    shownDefault: '(none)',
    description: 'comma-separated API keys; `key` has every scope, `key:predict+read` only those (scopes: predict, ingest, read, admin)',
  }),
  setting<'apiKeysFile', string | undefined>({
    key: 'apiKeysFile',
    env: 'SIGHTLINE_API_KEYS_FILE',
    flag: '--api-keys-file',
    type: { ...text, placeholder: 'file', isPath: true },
    default: undefined,
    shownDefault: '(none)',
    description: 'JSON file of API keys stored as SHA-256 hashes, each with a name, scopes and an optional rate limit',
  }),
  setting({
    key: 'allowUnauthenticated',
    env: 'SIGHTLINE_ALLOW_UNAUTHENTICATED',
    flag: '--allow-unauthenticated',
    type: switchValue,
    default: false,
    description: 'start without API keys on an address other than loopback (anyone who can reach it may use every route)',
  }),
  setting({
    key: 'metricsPublic',
    env: 'SIGHTLINE_METRICS_PUBLIC',
    flag: '--metrics-public',
    type: switchValue,
    default: true,
    description: 'serve /metrics without a key; false requires a key with the admin scope',
  }),
  setting({
    key: 'rateLimitRps',
    env: 'SIGHTLINE_RATE_LIMIT_RPS',
    flag: '--rate-limit-rps',
    type: decimal(0, 1_000_000),
    default: 0,
    description: 'requests per second per API key (per client address when no keys are configured); 0 turns rate limiting off',
  }),
  setting({
    key: 'rateLimitBurst',
    env: 'SIGHTLINE_RATE_LIMIT_BURST',
    flag: '--rate-limit-burst',
    type: integer(0, 1_000_000),
    default: 0,
    description: 'requests a key may make at once before the rate applies; 0 means the rate rounded up (at least 1)',
  }),
  setting({
    key: 'rateLimitUrl',
    env: 'SIGHTLINE_RATE_LIMIT_URL',
    flag: '--rate-limit-url',
    type: serviceUrl(['redis', 'rediss']),
    secret: redactServiceUrl,
    default: '',
    shownDefault: '(local buckets)',
    description:
      'Redis that holds the rate-limit counters replicas share, e.g. redis://127.0.0.1:6379; empty keeps buckets in this process ' +
      '(while Redis is unreachable, each replica falls back to its own)',
  }),
  setting({
    key: 'authFailuresPerMinute',
    env: 'SIGHTLINE_AUTH_FAILURES_PER_MINUTE',
    flag: '--auth-failures-per-minute',
    type: integer(0, 1_000_000),
    default: 30,
    description:
      'failed authentications (401) one client address may make per minute, all at once at most; past it every keyed request from that ' +
      'address gets 429 until the budget refills; 0 turns the limit off',
  }),
];

type Row = (typeof OPTIONS)[number];
type ValueOf<R> = R extends Setting<string, infer T> ? T : never;

/** The settings by key, typed as the table says. */
export type Config = { [R in Row as R['key']]: ValueOf<R> };

export const CONFIG_FILE_ENV = 'SIGHTLINE_CONFIG';
export const CONFIG_FILE_FLAG = '--config';

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** CLI flags after the command, e.g. ['--port', '0']. */
  argv?: string[];
  cwd?: string;
}

/** A value as error messages show it: a secret one never in full. */
function shownValue(row: Row, raw: unknown): string {
  if (row.secret === undefined) return JSON.stringify(raw);
  if (typeof row.secret === 'function' && typeof raw === 'string') return JSON.stringify(row.secret(raw));
  return `a ${Array.isArray(raw) ? 'list' : raw === null ? 'null' : typeof raw} (value not shown)`;
}

function parseValue(row: Row, raw: unknown, source: string): unknown {
  const parsed = (row.type.schema as z.ZodType).safeParse(raw);
  if (parsed.success) return parsed.data;
  const custom = parsed.error.issues.find((issue) => issue.code === 'custom');
  throw new ConfigError(`${source}: expected ${custom?.message ?? row.type.expected}, got ${shownValue(row, raw)}`);
}

/**
 * Flags by name: `--flag value`, `--flag=value`, and a bare switch, which takes the next argument
 * as its value only when that is not itself a flag. Unknown flags and stray arguments are errors.
 */
function readFlags(argv: string[]): Map<string, string> {
  const rows = new Map<string, Row>(OPTIONS.map((row) => [row.flag, row]));
  const options: NonNullable<ParseArgsConfig['options']> = { [CONFIG_FILE_FLAG.slice(2)]: { type: 'string' } };
  for (const row of OPTIONS) options[row.flag.slice(2)] = { type: row.type.placeholder === undefined ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const out = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'positional') throw new ConfigError(`unexpected argument ${JSON.stringify(token.value)} (see --help)`);
    if (token.kind === 'option-terminator') throw new ConfigError('unexpected argument "--" (see --help)');
    const flag = token.rawName;
    const row = rows.get(flag);
    if (row === undefined && flag !== CONFIG_FILE_FLAG) throw new ConfigError(`unknown option ${flag} (see --help)`);
    if (token.value !== undefined) {
      out.set(flag, token.value);
    } else if (row?.type.placeholder === undefined && row !== undefined) {
      const next = tokens[i + 1];
      const given = next?.kind === 'positional' && next.index === token.index + 1;
      out.set(flag, given ? next.value : 'true');
      if (given) i++;
    } else {
      throw new ConfigError(`${flag}: expected a value`);
    }
  }
  return out;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const flags = readFlags(sources.argv ?? []);

  const filePath = flags.get(CONFIG_FILE_FLAG) ?? env[CONFIG_FILE_ENV];
  const file = filePath ? readConfigFile(path.resolve(cwd, filePath)) : { path: '', values: {} as Record<string, unknown> };
  for (const key of Object.keys(file.values)) {
    if (!OPTIONS.some((row) => row.key === key)) throw new ConfigError(`${file.path}: unknown key ${JSON.stringify(key)}`);
  }

  const values: Record<string, unknown> = {};
  for (const row of OPTIONS) {
    const given: Array<[raw: unknown, source: string]> = [
      [file.values[row.key], `${file.path}: ${row.key}`],
      [env[row.env], row.env],
      [flags.get(row.flag), row.flag],
    ];
    const last = given.filter(([raw]) => raw !== undefined).at(-1);
    let value = last ? parseValue(row, last[0], last[1]) : typeof row.default === 'function' ? row.default(values) : row.default;
    if (row.type.isPath && typeof value === 'string') value = path.resolve(cwd, value);
    values[row.key] = value;
  }
  return values as Config;
}

function readConfigFile(file: string): { path: string; values: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${CONFIG_FILE_ENV}: cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: expected a JSON object of options`);
  }
  return { path: file, values: parsed as Record<string, unknown> };
}

/** A row's default as --help prints it. */
export function helpDefault(row: Row): string {
  if (row.shownDefault !== undefined) return row.shownDefault;
  const value = row.default;
  // A list, an object or a derived default would print as nothing useful: such rows say theirs.
  if (typeof value === 'function' || (typeof value === 'object' && value !== null)) throw new Error(`${row.key}: its default needs a shownDefault`);
  return String(value);
}

/** One option of --help: flag, env var and default on the first line, what it does on the next. */
function helpRow(flag: string, env: string, shownDefault: string, description: string): string {
  return `  ${flag.padEnd(30)} ${env.padEnd(32)} default: ${shownDefault}\n      ${description}`;
}

/** The table as printed by `sightline --help`. */
export function helpText(): string {
  const rows = OPTIONS.map((row) => {
    const placeholder = row.placeholder ?? row.type.placeholder;
    const flag = placeholder === undefined ? row.flag : `${row.flag} <${placeholder}>`;
    const choices = row.type.choices ? ` (one of ${row.type.choices.join(', ')})` : '';
    return helpRow(flag, row.env, helpDefault(row), `${row.description}${choices}`);
  });
  return [
    'Usage: sightline serve [options]',
    '',
    'sightline is a vision inference server: HTTP and WebSocket in front, ONNX Runtime worker pools behind.',
    '',
    'Commands:',
    '  serve      start the server (what `npm start` runs)',
    "  bench      load a running server's predict route and check latency budgets (`sightline bench --help`)",
    '  evaluate   run a labelled dataset through a model and check accuracy gates (`sightline evaluate --help`)',
    '',
    'Options (flag, environment variable, default):',
    helpRow(`${CONFIG_FILE_FLAG} <file>`, CONFIG_FILE_ENV, '(none)', 'JSON file whose keys are the option names below in camelCase (e.g. {"port": 9000})'),
    ...rows,
    '  --help                         print this help',
    '  --version                      print the version',
  ].join('\n');
}
