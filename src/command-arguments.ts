/**
 * What the client subcommands (`sightline bench`, `sightline evaluate`) share in reading their
 * arguments: `--flag value` and `--flag=value`, the server URL, and what --help and a bad
 * argument do.
 */

/** A wrong or missing argument: the command prints the message and its usage, and exits with its usage status. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Each flag's value, from `--flag value` or `--flag=value`; every flag one of `flags`, each given once. */
export function flagValues(argv: readonly string[], flags: ReadonlySet<string>): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!flags.has(flag)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (values.has(flag)) throw new UsageError(`${flag} given twice`);
    values.set(flag, value);
  }
  return values;
}

/**
 * --url: a server origin with any path prefix, in one of `protocols` (`refused` says why another
 * is not taken), and no query or fragment.
 */
export function serverUrl(text: string, protocols: readonly string[], refused: (protocol: string) => string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(text)}`);
  }
  if (!protocols.includes(url.protocol)) throw new UsageError(`--url: ${refused(url.protocol)}`);
  if (url.search || url.hash) throw new UsageError('--url: give the server origin (and any path prefix) without a query or fragment');
  return url;
}

/** How a subcommand starts: its name, usage text and the exit statuses of --help and of a usage error. */
export interface CommandStart {
  command: string;
  usage: string;
  exit: { passed: number; usage: number };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/**
 * The parsed options, or the exit status when there is nothing to run: --help (or -h) prints the
 * usage; a UsageError from `parse` prints its message and the usage.
 */
export function commandOptions<T>(argv: readonly string[], start: CommandStart, parse: () => T): { options: T } | { exit: number } {
  if (argv.includes('--help') || argv.includes('-h')) {
    start.stdout.write(`${start.usage}\n`);
    return { exit: start.exit.passed };
  }
  try {
    return { options: parse() };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    start.stderr.write(`sightline ${start.command}: ${err.message}\n\n${start.usage}\n`);
    return { exit: start.exit.usage };
  }
}
