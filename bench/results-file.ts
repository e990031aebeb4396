import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes one benchmark's figures to bench/results/<name>.json, where `bench:check` reads the ratios. */
export function writeResults(name: string, data: { ratios: Record<string, number> } & Record<string, unknown>): string {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, measuredAt: new Date().toISOString(), node: process.version, ...data }, null, 2)}\n`);
  return file;
}
