import { readFileSync } from 'node:fs';
import path from 'node:path';
import { redactDatabaseUrl } from './store/database-url.js';

/**
 * One validated configuration object. Every option has a default, an env var (`SIGHTLINE_*`),
 * a CLI flag and a key in the optional JSON config file. Precedence: default < file < env < flag.
 */
export interface Config {
  host: string;
  port: number;
  modelsDir: string;
  /** Names of the models to load; empty means every folder in modelsDir. */
  models: string[];
  dataDir: string;
  databaseUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxBodyBytes: number;
  maxJsonBytes: number;
  maxFileBytes: number;
  maxFiles: number;
  maxFields: number;
  maxImagePixels: number;
  shutdownTimeoutMs: number;
  allowUwsFallback: boolean;
  groupCommitMs: number;
  maxDetectionsPerRequest: number;
  jobConcurrency: number;
  wsMaxPayloadBytes: number;
  wsIdleTimeoutS: number;
  wsMaxBackpressureBytes: number;
  wsMaxInFlight: number;
  /** Bytes of images one /v1/ws/predict socket may have in flight. */
  wsMaxInFlightBytes: number;
  /** Bytes of images all /v1/ws/predict sockets together may have in flight. */
  wsMaxInFlightBytesTotal: number;
  /** Key specs `key` or `key:scope+scope`; secrets, never logged. */
  apiKeys: string[];
  /** JSON file of hashed keys with scopes; undefined when none. */
  apiKeysFile: string | undefined;
  allowUnauthenticated: boolean;
  metricsPublic: boolean;
  /** Requests per second per key (per client address without keys); 0 turns rate limiting off. */
  rateLimitRps: number;
  /** Bucket size; 0 means max(1, ceil(rateLimitRps)). */
  rateLimitBurst: number;
  /** Failed authentications one client address may make per minute before it gets 429; 0 turns the limit off. */
  authFailuresPerMinute: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list' | 'enum' | 'bytes';

export interface OptionSpec {
  key: keyof Config;
  env: string;
  flag: string;
  kind: Kind;
  /** Default as shown in --help; `undefined` means derived (see `derive`). */
  default: string;
  description: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** No value unless one is given (the default shown is `(none)`). */
  optional?: boolean;
  /** Holds credentials: error messages never echo the value. */
  secret?: true;
}

const MiB = 1024 * 1024;

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', env: 'SIGHTLINE_HOST', flag: '--host', kind: 'string', default: '127.0.0.1', description: 'address to listen on' },
  { key: 'port', env: 'SIGHTLINE_PORT', flag: '--port', kind: 'int', default: '8080', min: 0, max: 65535, description: 'port to listen on; 0 picks a free port (the bound port is logged)' },
  { key: 'modelsDir', env: 'SIGHTLINE_MODELS_DIR', flag: '--models-dir', kind: 'string', default: './models', description: 'model repository: one folder per model with a model.json' },
  { key: 'models', env: 'SIGHTLINE_MODELS', flag: '--models', kind: 'list', default: '', description: 'comma-separated model names to load (empty: every model in the repository)' },
  { key: 'dataDir', env: 'SIGHTLINE_DATA_DIR', flag: '--data-dir', kind: 'string', default: './data', description: 'where the embedded database and image blobs live' },
  { key: 'databaseUrl', env: 'SIGHTLINE_DATABASE_URL', flag: '--database-url', kind: 'string', secret: true, default: 'sqlite:<data-dir>/sightline.db', description: 'sqlite:<path> or mysql://user:pass@host:port/db' },
  { key: 'logLevel', env: 'SIGHTLINE_LOG_LEVEL', flag: '--log-level', kind: 'enum', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'log level' },
  { key: 'maxBodyBytes', env: 'SIGHTLINE_MAX_BODY_BYTES', flag: '--max-body-bytes', kind: 'bytes', default: String(64 * MiB), min: 1024, description: 'hard limit on any request body (413 past it)' },
  { key: 'maxJsonBytes', env: 'SIGHTLINE_MAX_JSON_BYTES', flag: '--max-json-bytes', kind: 'bytes', default: String(24 * MiB), min: 64, description: 'limit on JSON bodies (base64 images included)' },
  { key: 'maxFileBytes', env: 'SIGHTLINE_MAX_FILE_BYTES', flag: '--max-file-bytes', kind: 'bytes', default: String(16 * MiB), min: 64, description: 'limit on one uploaded file or raw image body' },
  { key: 'maxFiles', env: 'SIGHTLINE_MAX_FILES', flag: '--max-files', kind: 'int', default: '16', min: 1, max: 1024, description: 'files per multipart request (batch predict size)' },
  { key: 'maxFields', env: 'SIGHTLINE_MAX_FIELDS', flag: '--max-fields', kind: 'int', default: '32', min: 0, max: 1024, description: 'non-file fields per multipart request' },
  { key: 'maxImagePixels', env: 'SIGHTLINE_MAX_IMAGE_PIXELS', flag: '--max-image-pixels', kind: 'int', default: '40000000', min: 1, description: 'decoded image size limit (decompression bombs get 413)' },
  { key: 'shutdownTimeoutMs', env: 'SIGHTLINE_SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', kind: 'int', default: '10000', min: 0, description: 'how long in-flight requests may take to finish on SIGTERM/SIGINT' },
  { key: 'allowUwsFallback', env: 'SIGHTLINE_ALLOW_UWS_FALLBACK', flag: '--allow-uws-fallback', kind: 'bool', default: 'false', description: 'start on the slow pure-JS HTTP fallback when the native uWebSockets.js binary cannot load' },
  { key: 'groupCommitMs', env: 'SIGHTLINE_GROUP_COMMIT_MS', flag: '--group-commit-ms', kind: 'int', default: '2', min: 0, max: 1000, description: 'writes arriving within this many ms share one durable commit; 0 commits each write alone' },
  { key: 'maxDetectionsPerRequest', env: 'SIGHTLINE_MAX_DETECTIONS_PER_REQUEST', flag: '--max-detections-per-request', kind: 'int', default: '500', min: 1, max: 10000, description: 'detections in one POST /v1/detections batch' },
  { key: 'jobConcurrency', env: 'SIGHTLINE_JOB_CONCURRENCY', flag: '--job-concurrency', kind: 'int', default: '8', min: 1, max: 1024, description: 'async jobs in flight at once (they share the model batchers at low priority)' },
  { key: 'wsMaxPayloadBytes', env: 'SIGHTLINE_WS_MAX_PAYLOAD_BYTES', flag: '--ws-max-payload-bytes', kind: 'bytes', default: String(64 * 1024), min: 1024, max: 64 * MiB, description: 'largest message a client may send on /v1/ws (larger: closed with 1009); predict sockets use --max-file-bytes' },
  { key: 'wsIdleTimeoutS', env: 'SIGHTLINE_WS_IDLE_TIMEOUT_S', flag: '--ws-idle-timeout-s', kind: 'int', default: '120', min: 8, max: 960, description: 'seconds a WebSocket may stay silent; the server pings before it expires' },
  { key: 'wsMaxBackpressureBytes', env: 'SIGHTLINE_WS_MAX_BACKPRESSURE_BYTES', flag: '--ws-max-backpressure-bytes', kind: 'bytes', default: String(1 * MiB), min: 1024, max: 1024 * MiB, description: 'bytes queued for one WebSocket client before it is closed as a slow consumer (4000)' },
  { key: 'wsMaxInFlight', env: 'SIGHTLINE_WS_MAX_IN_FLIGHT', flag: '--ws-max-in-flight', kind: 'int', default: '64', min: 1, max: 4096, description: 'images one /v1/ws/predict socket may have in flight; more are answered with an overloaded error' },
  { key: 'wsMaxInFlightBytes', env: 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES', flag: '--ws-max-in-flight-bytes', kind: 'bytes', default: String(64 * MiB), min: 1024, max: 64 * 1024 * MiB, description: 'bytes of images one /v1/ws/predict socket may have in flight; frames past it are answered with an overloaded error and not kept (one image alone always fits)' },
  { key: 'wsMaxInFlightBytesTotal', env: 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES_TOTAL', flag: '--ws-max-in-flight-bytes-total', kind: 'bytes', default: String(256 * MiB), min: 1024, max: 64 * 1024 * MiB, description: 'bytes of images all /v1/ws/predict sockets together may have in flight; frames past it are answered with an overloaded error and not kept' },
  { key: 'apiKeys', env: 'SIGHTLINE_API_KEYS', flag: '--api-keys', kind: 'list', secret: true, default: '', description: 'comma-separated API keys; `key` has every scope, `key:predict+read` only those (scopes: predict, ingest, read, admin)' },
  { key: 'apiKeysFile', env: 'SIGHTLINE_API_KEYS_FILE', flag: '--api-keys-file', kind: 'string', default: '', optional: true, description: 'JSON file of API keys stored as SHA-256 hashes, each with a name, scopes and an optional rate limit' },
  { key: 'allowUnauthenticated', env: 'SIGHTLINE_ALLOW_UNAUTHENTICATED', flag: '--allow-unauthenticated', kind: 'bool', default: 'false', description: 'start without API keys on an address other than loopback (anyone who can reach it may use every route)' },
  { key: 'metricsPublic', env: 'SIGHTLINE_METRICS_PUBLIC', flag: '--metrics-public', kind: 'bool', default: 'true', description: 'serve /metrics without a key; false requires a key with the admin scope' },
  { key: 'rateLimitRps', env: 'SIGHTLINE_RATE_LIMIT_RPS', flag: '--rate-limit-rps', kind: 'number', default: '0', min: 0, max: 1_000_000, description: 'requests per second per API key (per client address when no keys are configured); 0 turns rate limiting off' },
  { key: 'rateLimitBurst', env: 'SIGHTLINE_RATE_LIMIT_BURST', flag: '--rate-limit-burst', kind: 'int', default: '0', min: 0, max: 1_000_000, description: 'requests a key may make at once before the rate applies; 0 means the rate rounded up (at least 1)' },
  { key: 'authFailuresPerMinute', env: 'SIGHTLINE_AUTH_FAILURES_PER_MINUTE', flag: '--auth-failures-per-minute', kind: 'int', default: '30', min: 0, max: 1_000_000, description: 'failed authentications (401) one client address may make per minute, all at once at most; past it every keyed request from that address gets 429 until the budget refills; 0 turns the limit off' },
];

export const CONFIG_FILE_ENV = 'SIGHTLINE_CONFIG';
export const CONFIG_FILE_FLAG = '--config';

/**
 * A value as error messages show it: a secret one never in full (a database URL with its
 * password masked, anything else as its type alone).
 */
function shownValue(spec: OptionSpec, raw: unknown): string {
  if (!spec.secret) return JSON.stringify(raw);
  if (spec.key === 'databaseUrl' && typeof raw === 'string') return JSON.stringify(redactDatabaseUrl(raw));
  return `a ${Array.isArray(raw) ? 'list' : raw === null ? 'null' : typeof raw} (value not shown)`;
}

function parseValue(spec: OptionSpec, raw: unknown, source: string): unknown {
  const fail = (expected: string): never => {
    throw new ConfigError(`${source}: expected ${expected}, got ${shownValue(spec, raw)}`);
  };
  switch (spec.kind) {
    case 'string': {
      if (typeof raw !== 'string' || raw.length === 0) fail('a non-empty string');
      return raw;
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
      if (typeof raw !== 'string') fail('a comma-separated list');
      return (raw as string).split(',').map((s) => s.trim()).filter(Boolean);
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
      return fail('true or false');
    }
    case 'enum': {
      if (typeof raw !== 'string' || !spec.choices!.includes(raw)) fail(`one of ${spec.choices!.join(', ')}`);
      return raw;
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : /^\s*\d+(?:\.\d+)?\s*$/.test(String(raw)) ? Number(raw) : undefined;
      const what = `a number of ${spec.min ?? 0}${spec.max !== undefined ? ` to ${spec.max}` : ' or more'}`;
      if (n === undefined || !Number.isFinite(n)) return fail(what);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return fail(what);
      return n;
    }
    case 'int':
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : parseNumber(String(raw), spec.kind === 'bytes');
      const range = `${spec.min ?? 0}${spec.max !== undefined ? ` to ${spec.max}` : ' or more'}`;
      const what = spec.kind === 'bytes' ? `a byte size (e.g. 1048576, 512KiB, 16MiB) of ${range}` : `an integer of ${range}`;
      if (n === undefined || !Number.isSafeInteger(n)) return fail(what);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return fail(what);
      return n;
    }
  }
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: MiB, mb: MiB, mib: MiB, g: 1024 * MiB, gb: 1024 * MiB, gib: 1024 * MiB };

function parseNumber(s: string, allowUnit: boolean): number | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  if (unit !== '' && !allowUnit) return undefined;
  const mult = UNITS[unit];
  if (mult === undefined) return undefined;
  const n = Number(m[1]) * mult;
  return Number.isInteger(n) ? n : undefined;
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** CLI flags after the command, e.g. ['--port', '0']. */
  argv?: string[];
  cwd?: string;
}

/** Splits `--flag value` / `--flag=value` / bare boolean flags into a map; unknown flags are errors. */
export function parseFlags(argv: string[]): Map<string, string> {
  const known = new Map(OPTIONS.map((o) => [o.flag, o]));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (see --help)`);
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const spec = known.get(flag);
    if (!spec && flag !== CONFIG_FILE_FLAG) throw new ConfigError(`unknown option ${flag} (see --help)`);
    if (eq !== -1) {
      out.set(flag, arg.slice(eq + 1));
    } else if (spec?.kind === 'bool' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) {
      out.set(flag, 'true');
    } else {
      const value = argv[++i];
      if (value === undefined) throw new ConfigError(`${flag}: expected a value`);
      out.set(flag, value);
    }
  }
  return out;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const flags = parseFlags(sources.argv ?? []);

  const filePath = flags.get(CONFIG_FILE_FLAG) ?? env[CONFIG_FILE_ENV];
  const file = filePath ? readConfigFile(path.resolve(cwd, filePath)) : { path: '', values: {} as Record<string, unknown> };

  const values: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    let raw: unknown = spec.key === 'databaseUrl' || spec.optional ? undefined : spec.default;
    let source = `${spec.key} (default)`;
    if (file.values[spec.key] !== undefined) {
      raw = file.values[spec.key];
      source = `${file.path}: ${spec.key}`;
    }
    if (env[spec.env] !== undefined) {
      raw = env[spec.env];
      source = spec.env;
    }
    if (flags.has(spec.flag)) {
      raw = flags.get(spec.flag);
      source = spec.flag;
    }
    if (raw !== undefined) values[spec.key] = parseValue(spec, raw, source);
  }
  for (const key of Object.keys(file.values)) {
    if (!OPTIONS.some((o) => o.key === key)) throw new ConfigError(`${file.path}: unknown key ${JSON.stringify(key)}`);
  }

  const config = values as unknown as Config;
  config.modelsDir = path.resolve(cwd, config.modelsDir);
  config.dataDir = path.resolve(cwd, config.dataDir);
  config.databaseUrl ??= `sqlite:${path.join(config.dataDir, 'sightline.db')}`;
  if (config.apiKeysFile !== undefined) config.apiKeysFile = path.resolve(cwd, config.apiKeysFile);
  if (!/^(sqlite:|mysql:\/\/)/.test(config.databaseUrl)) {
    throw new ConfigError(`SIGHTLINE_DATABASE_URL: expected sqlite:<path> or mysql://user:pass@host:port/db, got ${JSON.stringify(redactDatabaseUrl(config.databaseUrl))}`);
  }
  return config;
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

/** The option table as printed by `sightline --help`. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const placeholder = o.key === 'apiKeys' ? 'keys' : o.key === 'apiKeysFile' ? 'file' : o.kind === 'list' ? 'names' : o.kind === 'bytes' ? 'bytes' : o.kind === 'int' || o.kind === 'number' ? 'n' : 'value';
    const flag = o.kind === 'bool' ? o.flag : `${o.flag} <${placeholder}>`;
    const def = o.optional || o.key === 'apiKeys' ? '(none)' : o.default === '' ? '(all)' : o.default;
    return `  ${flag.padEnd(30)} ${o.env.padEnd(32)} default: ${def}\n      ${o.description}`;
  });
  return [
    'Usage: sightline serve [options]',
    '',
    'sightline is a vision inference server: HTTP and WebSocket in front, ONNX Runtime worker pools behind.',
    '',
    'Commands:',
    '  serve      start the server (what `npm start` runs)',
    '  bench      load a running server\'s predict route and check latency budgets (`sightline bench --help`)',
    '',
    'Options (flag, environment variable, default):',
    `  ${`${CONFIG_FILE_FLAG} <file>`.padEnd(30)} ${CONFIG_FILE_ENV.padEnd(32)} default: (none)\n      JSON file whose keys are the option names below in camelCase (e.g. {"port": 9000})`,
    ...rows,
    '  --help                         print this help',
    '  --version                      print the version',
  ].join('\n');
}
