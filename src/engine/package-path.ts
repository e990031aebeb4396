import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Resolves `@scope/pkg/sub/path` or `pkg/sub/path` to a file inside an installed npm package.
 * Packages with an `exports` map hide their files from `require.resolve`, so this looks for the
 * package folder on Node's own search path instead.
 */
export function resolvePackageFile(spec: string, fromDir: string): string | undefined {
  const parts = spec.split('/');
  const nameParts = spec.startsWith('@') ? 2 : 1;
  if (parts.length <= nameParts) return undefined;
  const name = parts.slice(0, nameParts).join('/');
  const rest = parts.slice(nameParts).join('/');
  const searchPaths = createRequire(path.join(fromDir, 'noop.js')).resolve.paths(name) ?? [];
  for (const dir of searchPaths) {
    const root = path.join(dir, name);
    if (existsSync(path.join(root, 'package.json'))) {
      const file = path.join(root, rest);
      return existsSync(file) ? file : undefined;
    }
  }
  return undefined;
}
