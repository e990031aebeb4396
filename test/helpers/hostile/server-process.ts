import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../server.js';

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  base: string;
  /** The server's own resident set, from /proc/<pid>/status. */
  rssBytes(): number;
  /** The last lines the server wrote (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The test's environment without SIGHTLINE_* settings, so only the given ones apply. */
function serverEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SIGHTLINE_'))), ...env };
}

/**
 * Starts `sightline serve` in a child process (so its memory is its own, and a crash is seen as an
 * exit rather than taking the test runner down) and waits until it logs its port.
 */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const main = path.join(repoRoot, 'dist', 'src', 'main.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-hostile-'));
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serverEnv(env),
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not log its port within 20 s: ${out}`)), 20_000);
    const look = () => {
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', look);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code ?? signal}: ${out}`));
    });
  });
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
      return kib * 1024;
    },
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
