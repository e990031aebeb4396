import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../package-root.js';
import type { PackedRegions, PolygonInput, PolygonOptions } from './types.js';

/** The compiled addon's exports (native/addon.cc). */
export interface NativeAddon {
  // Plain exported functions, not methods: they can be passed around without their module.
  version: () => string;
  findPolygons: (input: PolygonInput, options?: PolygonOptions) => PackedRegions;
  /** Validates and takes a reference to input.data on the calling thread; the work runs in libuv's pool. */
  findPolygonsAsync: (input: PolygonInput, options?: PolygonOptions) => Promise<PackedRegions>;
}

export type NativeLoadResult = { addon: NativeAddon; error: null } | { addon: null; error: Error };

let loaded: NativeLoadResult | undefined;

/** Path of the addon that `node-gyp rebuild` produces. */
export function nativeAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'sightline_native.node');
}

/** Loads the addon once per thread; a failed build or load is reported, not thrown. */
export function loadNativeAddon(): NativeLoadResult {
  if (loaded === undefined) {
    try {
      const addon = createRequire(import.meta.url)(nativeAddonPath()) as NativeAddon;
      if (typeof addon.findPolygons !== 'function' || typeof addon.findPolygonsAsync !== 'function') {
        throw new Error(`${nativeAddonPath()} does not export findPolygons (stale build?)`);
      }
      loaded = { addon, error: null };
    } catch (err) {
      loaded = { addon: null, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
  return loaded;
}
