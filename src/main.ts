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
    server.close().then(
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
