#!/usr/bin/env node
import { ConfigError, helpText, loadConfig } from './config.js';
import { packageVersion } from './package-version.js';
import { startServer } from './server.js';
import { UwsLoadError } from './http/uws.js';

async function main(argv: string[]): Promise<number> {
  // The load tool has its own flags and help; it is a client and starts no server.
  if (argv[0] === 'bench') {
    const { runBenchCommand } = await import('./loadgen/bench-command.js');
    return runBenchCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr });
  }
  if (argv[0] === 'evaluate') {
    const { runEvaluateCommand } = await import('./evaluation/evaluate-command.js');
    return runEvaluateCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, startLocal: startForEvaluation });
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const [command = 'serve', ...rest] = argv[0]?.startsWith('--') ? ['serve', ...argv] : argv;
  if (command !== 'serve') {
    process.stderr.write(`sightline: unknown command ${JSON.stringify(command)}\n\n${helpText()}\n`);
    return 2;
  }
  const config = loadConfig({ argv: rest });
  const server = await startServer(config);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    server.logger.info({ signal }, 'signal received');
    // SIGTERM is how orchestrators stop a replica: drain first. SIGINT is a person at a terminal: stop now.
    const drained = signal === 'SIGTERM' && config.drainMs > 0 ? server.drain(config.drainMs) : Promise.resolve();
    drained
      .then(() => server.close())
      .then(
        () => {
          server.logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          server.logger.error({ err }, 'shutdown failed');
          server.logger.flush();
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return -1;
}

/**
 * `sightline evaluate` without --url: a server in this process on a free loopback port, serving
 * only the model asked for, on a throwaway database, its logs on stderr (stdout is the report).
 */
async function startForEvaluation(options: { model: string; datasetsDir: string }) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { createLogger } = await import('./logger.js');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-evaluate-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIGHTLINE_HOST: '127.0.0.1',
    SIGHTLINE_PORT: '0',
    SIGHTLINE_DATA_DIR: dataDir,
    SIGHTLINE_DATASETS_DIR: options.datasetsDir,
    SIGHTLINE_MODELS: options.model,
    SIGHTLINE_API_KEYS: '',
    SIGHTLINE_LOG_LEVEL: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn',
  };
  delete env.SIGHTLINE_DATABASE_URL;
  delete env.SIGHTLINE_API_KEYS_FILE;
  delete env.SIGHTLINE_CONFIG;
  const config = loadConfig({ env });
  const server = await startServer(config, { logger: createLogger(config.logLevel, { pretty: true, out: process.stderr }) });
  await server.modelsLoaded;
  return {
    url: server.url,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UwsLoadError) {
      process.stderr.write(`sightline: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`sightline: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
