import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, helpDefault, loadConfig, OPTIONS } from '../dist/src/config.js';
import { repoRoot } from './helpers/server.js';

const run = promisify(execFile);
const main = path.join(repoRoot, 'dist/src/main.js');

describe('config', () => {
  it('has documented defaults', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/app' });
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.modelsDir).toBe('/srv/app/models');
    expect(c.dataDir).toBe('/srv/app/data');
    expect(c.databaseUrl).toBe('sqlite:/srv/app/data/sightline.db');
    expect(c.logLevel).toBe('info');
    expect(c.maxFiles).toBe(16);
    expect(c.models).toEqual([]);
    expect(c.allowUwsFallback).toBe(false);
  });

  it('layers file < env < flags', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-config-'));
    const file = path.join(dir, 'sightline.json');
    writeFileSync(file, JSON.stringify({ port: 9001, host: '0.0.0.0', maxJsonBytes: '2MiB', models: ['a', 'b'] }));
    const c = loadConfig({
      env: { SIGHTLINE_CONFIG: file, SIGHTLINE_PORT: '9002', SIGHTLINE_LOG_LEVEL: 'warn' },
      argv: ['--log-level=debug', '--allow-uws-fallback'],
      cwd: dir,
    });
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(9002);
    expect(c.logLevel).toBe('debug');
    expect(c.maxJsonBytes).toBe(2 * 1024 * 1024);
    expect(c.models).toEqual(['a', 'b']);
    expect(c.allowUwsFallback).toBe(true);
    expect(loadConfig({ env: { SIGHTLINE_PORT: '9002' }, argv: ['--port', '0'] }).port).toBe(0);
  });

  it('names the variable and what was expected', () => {
    expect(() => loadConfig({ env: { SIGHTLINE_PORT: 'eighty' } })).toThrow(new ConfigError('SIGHTLINE_PORT: expected an integer of 0 to 65535, got "eighty"'));
    expect(() => loadConfig({ env: {}, argv: ['--port', '70000'] })).toThrow('--port: expected an integer of 0 to 65535, got "70000"');
    expect(() => loadConfig({ env: { SIGHTLINE_LOG_LEVEL: 'loud' } })).toThrow(
      'SIGHTLINE_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
    expect(() => loadConfig({ env: { SIGHTLINE_MAX_BODY_BYTES: '12 parsecs' } })).toThrow(/^SIGHTLINE_MAX_BODY_BYTES: expected a byte size/);
    expect(() => loadConfig({ env: { SIGHTLINE_DATABASE_URL: 'postgres://x' } })).toThrow(
      'SIGHTLINE_DATABASE_URL: expected sqlite:<path> or mysql://user:pass@host:port/db, got "postgres://x"',
    );
    expect(() => loadConfig({ env: {}, argv: ['--colour'] })).toThrow('unknown option --colour (see --help)');
  });

  it('accepts every database URL the store accepts, and reports what the store would refuse under the setting name', () => {
    expect(loadConfig({ env: { SIGHTLINE_DATABASE_URL: 'mariadb://root@127.0.0.1:3306/test' } }).databaseUrl).toBe('mariadb://root@127.0.0.1:3306/test');
    expect(loadConfig({ env: {}, argv: ['--database-url', 'MySQL://app@db/vision'] }).databaseUrl).toBe('MySQL://app@db/vision');
    expect(loadConfig({ env: { SIGHTLINE_DATABASE_URL: 'sqlite::memory:' } }).databaseUrl).toBe('sqlite::memory:');
    expect(() => loadConfig({ env: { SIGHTLINE_DATABASE_URL: 'sqlite:' } })).toThrow(
      new ConfigError('SIGHTLINE_DATABASE_URL: expected sqlite:<path> or sqlite::memory:, got "sqlite:"'),
    );
    expect(() => loadConfig({ env: {}, argv: ['--database-url=mysql://root:pw@db:3306/'] })).toThrow(
      new ConfigError('--database-url: expected one database: mysql://user:password@host:port/database, got "mysql://root:***@db:3306/"'),
    );
    expect(() => loadConfig({ env: { SIGHTLINE_DATABASE_URL: 'mariadb://db/x?connectionLimit=0' } })).toThrow(
      new ConfigError('SIGHTLINE_DATABASE_URL: expected a connectionLimit of 1 to 1000, got "mariadb://db/x?connectionLimit=0"'),
    );
  });

  it('reads SIGHTLINE_POLYGONS like every other setting and names it when the value is bad', () => {
    expect(loadConfig({ env: {} }).polygons).toBe('auto');
    expect(loadConfig({ env: { SIGHTLINE_POLYGONS: 'typescript' } }).polygons).toBe('typescript');
    expect(loadConfig({ env: { SIGHTLINE_POLYGONS: 'typescript' }, argv: ['--polygons', 'native'] }).polygons).toBe('native');
    expect(() => loadConfig({ env: { SIGHTLINE_POLYGONS: 'fast' } })).toThrow(
      new ConfigError('SIGHTLINE_POLYGONS: expected one of auto, native, typescript, got "fast"'),
    );
    expect(() => loadConfig({ env: {}, argv: ['--polygons='] })).toThrow(new ConfigError('--polygons: expected one of auto, native, typescript, got ""'));
  });

  it('reads a switch bare, with a value after it, or with =value', () => {
    expect(loadConfig({ env: {}, argv: ['--metrics-public', 'off', '--port', '1'] })).toMatchObject({ metricsPublic: false, port: 1 });
    expect(loadConfig({ env: {}, argv: ['--metrics-public=no'] }).metricsPublic).toBe(false);
    expect(loadConfig({ env: { SIGHTLINE_ALLOW_UWS_FALLBACK: 'false' }, argv: ['--allow-uws-fallback', '--port', '1'] })).toMatchObject({
      allowUwsFallback: true,
      port: 1,
    });
    expect(() => loadConfig({ env: {}, argv: ['--allow-uws-fallback', 'maybe'] })).toThrow('--allow-uws-fallback: expected true or false, got "maybe"');
    expect(() => loadConfig({ env: {}, argv: ['--port'] })).toThrow(new ConfigError('--port: expected a value'));
    expect(() => loadConfig({ env: {}, argv: ['--port', '1', 'serve'] })).toThrow(new ConfigError('unexpected argument "serve" (see --help)'));
  });

  it('rejects unknown or malformed config files with the file name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-config-'));
    writeFileSync(path.join(dir, 'bad.json'), '{"prot": 1}');
    writeFileSync(path.join(dir, 'broken.json'), '{');
    writeFileSync(path.join(dir, 'typed.json'), '{"port": "x"}');
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: 'bad.json' }, cwd: dir })).toThrow(`${dir}/bad.json: unknown key "prot"`);
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: 'broken.json' }, cwd: dir })).toThrow(new RegExp(`^${dir}/broken.json: not valid JSON`));
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: 'typed.json' }, cwd: dir })).toThrow(
      `${dir}/typed.json: port: expected an integer of 0 to 65535, got "x"`,
    );
  });
});

describe('CLI', () => {
  it('never echoes a secret in an error: database URL passwords are masked, API keys not shown', () => {
    const message = (sources: Parameters<typeof loadConfig>[0]) => {
      try {
        loadConfig(sources);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    // Unescaped "@", "/" and ":" in the password: the whole of it is hidden all the same.
    for (const [url, shown] of [
      ['postgres://admin:s3cret-pw@db.internal/app', 'postgres://admin:***@db.internal/app'],
      ['pg://admin:s3cret@pw/x@db/app', 'pg://admin:***@db/app'],
      ['admin:s3cret-pw@db.internal/app', 'admin:***@db.internal/app'],
    ]) {
      const text = message({ env: { SIGHTLINE_DATABASE_URL: url } });
      expect(text).not.toContain('s3cret');
      expect(text).toContain(shown);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-config-'));
    const file = path.join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ apiKeys: ['super-secret-key-1', 42] }));
    const keys = message({ env: { SIGHTLINE_CONFIG: file } });
    expect(keys).toBe(`${file}: apiKeys: expected a comma-separated list, got a list (value not shown)`);
    writeFileSync(file, JSON.stringify({ databaseUrl: 'mysql://root:hunter2@db/x' }));
    expect(loadConfig({ env: { SIGHTLINE_CONFIG: file } }).databaseUrl).toBe('mysql://root:hunter2@db/x');
    writeFileSync(file, JSON.stringify({ databaseUrl: ['mysql://root:hunter2@db/x'] }));
    expect(message({ env: { SIGHTLINE_CONFIG: file } })).not.toContain('hunter2');
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const { stdout } = await run(process.execPath, [main, '--version']);
    expect(stdout).toBe(`${version}\n`);
    const help = await run(process.execPath, [main, '--help']);
    expect(help.stdout).toContain('--version');
  });

  it('a bad database URL fails the start without printing its password', async () => {
    const err = await run(process.execPath, [main, '--port', '0'], {
      env: { ...process.env, SIGHTLINE_DATABASE_URL: 'mysql://app:p@ss/w0rd@127.0.0.1:1/db?connectionLimit=0' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).not.toBe(0);
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toContain('mysql://app:***@127.0.0.1:1/db?connectionLimit=0');
    expect(stderr).not.toContain('w0rd');
  });

  it('--help lists every option with its env var and default', async () => {
    const { stdout } = await run(process.execPath, [main, '--help']);
    for (const o of OPTIONS) {
      expect(stdout).toContain(o.flag);
      expect(stdout).toContain(o.env);
    }
    expect(stdout).toContain('default: 8080');
    expect(stdout).toContain('default: 127.0.0.1');
  });

  it('--help is generated from the settings table: one entry per setting, in table order, with its default and description', async () => {
    const { stdout } = await run(process.execPath, [main, '--help']);
    const lines = stdout.split('\n');
    const entries = lines.flatMap((line, i) => {
      const m = /^ {2}(--[a-z-]+)(?: <[a-z]+>)? +(SIGHTLINE_[A-Z_]+) +default: (.*)$/.exec(line);
      return m ? [{ flag: m[1], env: m[2], shownDefault: m[3], description: lines[i + 1].trim() }] : [];
    });
    const expected = OPTIONS.map((o) => ({
      flag: o.flag,
      env: o.env,
      shownDefault: helpDefault(o),
      description: o.type.choices ? `${o.description} (one of ${o.type.choices.join(', ')})` : o.description,
    }));
    expect(entries).toEqual([
      {
        flag: '--config',
        env: 'SIGHTLINE_CONFIG',
        shownDefault: '(none)',
        description: 'JSON file whose keys are the option names below in camelCase (e.g. {"port": 9000})',
      },
      ...expected,
    ]);
    expect(OPTIONS.map((o) => o.env)).toContain('SIGHTLINE_POLYGONS');
    expect(entries.find((e) => e.env === 'SIGHTLINE_POLYGONS')).toMatchObject({ flag: '--polygons', shownDefault: 'auto' });
    expect(entries.find((e) => e.env === 'SIGHTLINE_DATABASE_URL')?.shownDefault).toBe('sqlite:<data-dir>/sightline.db');
  });

  it('refuses to start on a bad SIGHTLINE_POLYGONS, naming it, with exit code 2', async () => {
    const err = await run(process.execPath, [main, 'serve', '--port', '0'], { env: { ...process.env, SIGHTLINE_POLYGONS: 'fast' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toBe('sightline: SIGHTLINE_POLYGONS: expected one of auto, native, typescript, got "fast"\n');
  });

  it('fails to start on invalid config with the variable name and exit code 2', async () => {
    const err = await run(process.execPath, [main, 'serve'], { env: { ...process.env, SIGHTLINE_PORT: '-1' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toBe('sightline: SIGHTLINE_PORT: expected an integer of 0 to 65535, got "-1"\n');
  });

  it('refuses to start on the pure-JS uWebSockets.js fallback and says how to fix it', async () => {
    const err = await run(process.execPath, [main, 'serve', '--port', '0'], { env: { ...process.env, UWS_USE_FALLBACK: '1' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain('sightline: uWebSockets.js could not load its native binary');
    expect((err as { stderr: string }).stderr).toContain('SIGHTLINE_ALLOW_UWS_FALLBACK=true');
  });

  it('serves, logs the bound port, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
    const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--data-dir', dataDir, '--models-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    expect(port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${port}/ping`);
    expect(await res.json()).toEqual({ message: 'Server is alive!', status: 'ok' });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toContain('shutdown complete');
  });
});
