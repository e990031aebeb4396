import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../../config.js';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for addresses only this machine can reach (IPv4-mapped and long IPv6 forms included). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Without keys every route is open to anyone who can connect, so the server only listens where
 * nobody else can, unless told otherwise.
 */
export function assertSafeExposure(options: { host: string; keys: number; allowUnauthenticated: boolean }): void {
  if (options.keys > 0 || options.allowUnauthenticated || isLoopbackHost(options.host)) return;
  throw new ConfigError(
    `no API keys are configured, so sightline listens only on loopback, but SIGHTLINE_HOST is ${options.host}. ` +
      'Configure keys (SIGHTLINE_API_KEYS or SIGHTLINE_API_KEYS_FILE), listen on 127.0.0.1, ' +
      'or set SIGHTLINE_ALLOW_UNAUTHENTICATED=true to serve every route to anyone who can reach this address.',
  );
}
