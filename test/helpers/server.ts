import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../dist/src/config.js';
import { startServer, type ServerHandle, type StartOptions } from '../../dist/src/server.js';

/** A real sightline server on an ephemeral loopback port, with a throwaway data dir. */
export async function startTestServer(env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerHandle & { dataDir: string }> {
  const dataDir = env.SIGHTLINE_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'sightline-test-'));
  // An empty model repository unless the test names one: loading the real models takes seconds.
  const modelsDir = env.SIGHTLINE_MODELS_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'sightline-models-'));
  const config: Config = loadConfig({
    env: { SIGHTLINE_PORT: '0', SIGHTLINE_DATA_DIR: dataDir, SIGHTLINE_MODELS_DIR: modelsDir, ...env },
  });
  const logger = options.logger ?? pino({ level: 'silent' });
  const server = await startServer(config, { ...options, logger });
  return Object.assign(server, { dataDir });
}

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * A server for the calling file's tests, over the model repository `makeRepo` builds: started with
 * every model's load settled before the first test, closed after the last; `env` adds settings. Read it
 * in tests only.
 */
export function serveModelRepo(makeRepo: () => string | Promise<string>, env: Record<string, string> = {}) {
  let handle: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let repoDir = '';
  beforeAll(async () => {
    repoDir = await makeRepo();
    handle = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir, ...env });
    await handle.modelsLoaded;
  });
  afterAll(async () => {
    await handle?.close();
  });
  const started = () => {
    if (handle === undefined) throw new Error('the suite server is read before it started');
    return handle;
  };
  return {
    get server() {
      return started();
    },
    get url() {
      return started().url;
    },
    get repoDir() {
      return repoDir;
    },
  };
}
