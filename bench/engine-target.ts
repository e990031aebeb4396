import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

/**
 * The engine benchmark's server, in its own process: serves the model repository named by
 * SIGHTLINE_MODELS_DIR and prints its port once every model is loaded.
 */
const config = loadConfig({ env: { ...process.env, SIGHTLINE_PORT: '0', SIGHTLINE_LOG_LEVEL: 'warn' } });
const server = await startServer(config, { logger: pino({ level: 'warn' }) });
await server.modelsLoaded;
console.log(server.port);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
