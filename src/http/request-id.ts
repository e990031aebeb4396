import { randomUUID } from 'node:crypto';

const ACCEPTED = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Honours a client's X-Request-Id when it is a sane token; otherwise makes one. */
export function requestIdFor(header: string | undefined): string {
  return header && ACCEPTED.test(header) ? header : randomUUID();
}
