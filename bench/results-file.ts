import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results, or BENCH_RESULTS_DIR when `bench:check` runs a benchmark into a folder of its own. */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
}

/** Writes one benchmark's figures to <results dir>/<name>.json, where `bench:check` reads the ratios. */
export function writeResults(name: string, data: { ratios: Record<string, number> } & Record<string, unknown>): string {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, measuredAt: new Date().toISOString(), node: process.version, ...data }, null, 2)}\n`);
  return file;
}
