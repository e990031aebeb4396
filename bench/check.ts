import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Compares the ratios the benchmarks wrote to bench/results/*.json with bench/thresholds.json.
 * Exits 1 when a ratio is below its minimum, or was not measured. Optional arguments restrict
 * the check to thresholds whose names start with one of them (e.g. `npm run bench:check -- http`).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const benchDir = path.join(root, 'bench');
const thresholds = JSON.parse(readFileSync(path.join(benchDir, 'thresholds.json'), 'utf8')) as Record<string, { min: number; about: string }>;

const measured = new Map<string, { value: number; file: string }>();
const resultsDir = path.join(benchDir, 'results');
let files: string[] = [];
try {
  files = readdirSync(resultsDir).filter((f) => f.endsWith('.json'));
} catch {
  // no results yet: every threshold reports as not measured
}
for (const file of files) {
  const data = JSON.parse(readFileSync(path.join(resultsDir, file), 'utf8')) as { ratios?: Record<string, number> };
  for (const [name, value] of Object.entries(data.ratios ?? {})) measured.set(name, { value, file });
}

const prefixes = process.argv.slice(2);
let failed = 0;
for (const [name, { min, about }] of Object.entries(thresholds)) {
  if (prefixes.length > 0 && !prefixes.some((p) => name.startsWith(p))) continue;
  const m = measured.get(name);
  if (!m) {
    failed++;
    console.log(`MISSING ${name}: not measured (run its benchmark first) — ${about}`);
    continue;
  }
  const ok = m.value >= min;
  if (!ok) failed++;
  console.log(`${ok ? 'ok     ' : 'BELOW  '} ${name} = ${m.value.toFixed(2)} (min ${min}) — ${about} [${m.file}]`);
}
if (failed > 0) {
  console.log(`${failed} threshold(s) not met`);
  process.exit(1);
}
console.log('all thresholds met');
