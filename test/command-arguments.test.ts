import { describe, expect, it } from 'vitest';
import { commandOptions, flagValues, serverUrl, UsageError } from '../dist/src/command-arguments.js';

const FLAGS = new Set(['--model', '--url']);

describe('client subcommand arguments', () => {
  it('reads --flag value and --flag=value, each flag once', () => {
    expect([...flagValues(['--model', 'cls', '--url=http://h:1/a=b'], FLAGS)]).toEqual([
      ['--model', 'cls'],
      ['--url', 'http://h:1/a=b'],
    ]);
    expect(() => flagValues(['--model', 'a', '--model=b'], FLAGS)).toThrow(new UsageError('--model given twice'));
    expect(() => flagValues(['--model'], FLAGS)).toThrow(new UsageError('--model needs a value'));
    expect(() => flagValues(['--colour=red'], FLAGS)).toThrow(new UsageError('unknown argument "--colour=red"'));
    expect(() => flagValues(['cls'], FLAGS)).toThrow(new UsageError('unknown argument "cls"'));
  });

  it('takes a server URL in the given protocols, with a path prefix but no query or fragment', () => {
    const refused = (p: string) => `no ${p}`;
    expect(serverUrl('http://127.0.0.1:8080/prefix', ['http:'], refused).href).toBe('http://127.0.0.1:8080/prefix');
    expect(() => serverUrl('nowhere', ['http:'], refused)).toThrow(new UsageError('--url: not a URL: "nowhere"'));
    expect(() => serverUrl('https://h/', ['http:'], refused)).toThrow(new UsageError('--url: no https:'));
    expect(() => serverUrl('https://h/?a=1', ['http:', 'https:'], refused)).toThrow(
      new UsageError('--url: give the server origin (and any path prefix) without a query or fragment'),
    );
  });

  it('answers --help and usage errors with the usage and their exit status, and passes other errors on', () => {
    const out: string[] = [];
    const err: string[] = [];
    const start = {
      command: 'try',
      usage: 'Usage: sightline try',
      exit: { passed: 0, usage: 2 },
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    };
    expect(commandOptions(['-h'], start, () => 'never')).toEqual({ exit: 0 });
    expect(commandOptions(['--x'], start, () => 'parsed')).toEqual({ options: 'parsed' });
    const bad = () => {
      throw new UsageError('--x is wrong');
    };
    expect(commandOptions(['--x'], start, bad)).toEqual({ exit: 2 });
    expect([out, err]).toEqual([['Usage: sightline try\n'], ['sightline try: --x is wrong\n\nUsage: sightline try\n']]);
    const broken = () => {
      throw new TypeError('a fault');
    };
    expect(() => commandOptions([], start, broken)).toThrow(new TypeError('a fault'));
  });
});
