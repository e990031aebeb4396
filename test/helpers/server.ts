import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../dist/src/config.js';
import { startServer, type ServerHandle, type StartOptions } from '../../dist/src/server.js';

/** A real sightline server on an ephemeral loopback port, with a throwaway data dir. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<ServerHandle & { dataDir: string }> {
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
