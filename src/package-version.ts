import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in sightline's own package.json, found by walking up from this module (it sits in
 * `src/` when run from source and in `dist/src/` when built).
 */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'sightline' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here, or not ours: keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("sightline's package.json was not found above its modules");
    dir = parent;
  }
}
