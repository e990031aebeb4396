import { createRequire } from 'node:module';
import type * as uws from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
export type Uws = typeof uws;

export class UwsLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UwsLoadError';
  }
}

export interface LoadedUws {
  uws: Uws;
  native: boolean;
}

const require = createRequire(import.meta.url);

/**
 * The registry build of uWebSockets.js silently swaps in a pure-JS server when its binary does not
 * load (wrong glibc, wrong Node ABI). That fallback is many times slower and lacks pub/sub fidelity,
 * so sightline checks which one it got and refuses the fallback unless explicitly allowed.
 */
export function loadUws(options: { allowFallback: boolean; warn?: (message: string) => void }): LoadedUws {
  const mod = require('uWebSockets.js') as Uws;
  const native = Function.prototype.toString.call(mod.App).includes('[native code]');
  if (native) return { uws: mod, native };
  const why =
    `uWebSockets.js could not load its native binary for Node ${process.versions.node} ` +
    `(ABI ${process.versions.modules}, ${process.platform}-${process.arch}) and fell back to a slow JavaScript server.`;
  const fix =
    'Fix: use Node 20 on glibc 2.27 or newer with the registry build ' +
    '(npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0), or install the official uWebSockets.js ' +
    'release on glibc 2.38 or newer; make sure UWS_USE_FALLBACK is not set. ' +
    'To start anyway on the slow fallback, set SIGHTLINE_ALLOW_UWS_FALLBACK=true.';
  if (!options.allowFallback) throw new UwsLoadError(`${why}\n${fix}`);
  options.warn?.(`${why} Running on the fallback because SIGHTLINE_ALLOW_UWS_FALLBACK is set: expect far lower throughput.`);
  return { uws: mod, native };
}
