import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/server.js';

describe('native addon build', () => {
  it('loads the addon that binding.gyp built during install', () => {
    const addon = createRequire(import.meta.url)(path.join(repoRoot, 'build/Release/sightline_native.node')) as { version(): string };
    expect(addon.version()).toBe('sightline-native/1');
  });
});
