import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { formatLogLine } from './log-format.js';

export type { Logger };

export interface LoggerOptions {
  /** One readable line per entry instead of JSON; by default, when stdout is a terminal. */
  pretty?: boolean;
  /** Where pretty lines go (stdout by default). */
  out?: { write(text: string): unknown };
  /** ANSI colours on the level; by default, when stdout is a colour terminal. */
  colour?: boolean;
}

/**
 * JSON logs on stdout. Writes are asynchronous (coalesced by sonic-boom) so access logging stays off the
 * request path's critical section; `flush()` runs on shutdown. On a terminal the same entries are
 * written as readable lines instead, synchronously (a person is reading, not a collector).
 */
export function createLogger(level: Config['logLevel'], options: LoggerOptions = {}): Logger {
  const settings = { level, base: { service: 'sightline' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty ?? process.stdout.isTTY === true) {
    const out = options.out ?? process.stdout;
    const colour = options.colour ?? (out === process.stdout && process.stdout.hasColors?.() === true);
    return pino(settings, { write: (line: string) => out.write(formatLogLine(line, { colour })) });
  }
  return pino(settings, pino.destination({ dest: 1, sync: false }));
}
