import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../dist/src/config.js';

const configFile = (value: unknown): string => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-profiles-')), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('the profiles setting', () => {
  it('is empty by default', () => {
    expect(loadConfig({ env: {} }).profiles).toEqual({});
  });

  it('reads SIGHTLINE_PROFILES: name, then =model, then @prefix, each optional', () => {
    const config = loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture=fracture, vehicle-monitoring,car-segmentation=seg@/segment/,image-analysis@/skin' } });
    expect(config.profiles).toEqual({
      fracture: { model: 'fracture', prefix: '/' },
      'vehicle-monitoring': { prefix: '/' },
      'car-segmentation': { model: 'seg', prefix: '/segment' },
      'image-analysis': { prefix: '/skin' },
    });
  });

  it('reads --profiles like the variable, and the flag wins over it', () => {
    const config = loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture' }, argv: ['--profiles', 'damage-assessment=damage'] });
    expect(config.profiles).toEqual({ 'damage-assessment': { model: 'damage', prefix: '/' } });
  });

  it('reads the config file as an object of profiles', () => {
    const file = configFile({ profiles: { fracture: { model: 'fracture', prefix: '/', dataset: '/data/test_images' }, 'vehicle-monitoring': {} } });
    expect(loadConfig({ env: { SIGHTLINE_CONFIG: file } }).profiles).toEqual({
      fracture: { model: 'fracture', prefix: '/', dataset: '/data/test_images' },
      'vehicle-monitoring': { prefix: '/' },
    });
  });

  it('refuses an unknown profile, naming the known ones', () => {
    expect(() => loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture,xray' } })).toThrow(
      new ConfigError(
        'SIGHTLINE_PROFILES: expected "xray": unknown profile "xray" (profiles: damage-assessment, car-segmentation, image-analysis, ' +
          'vehicle-monitoring, fracture), got "fracture,xray"',
      ),
    );
    const file = configFile({ profiles: { xray: {} } });
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: file } })).toThrow(`${file}: profiles: expected unknown profile "xray"`);
  });

  it('refuses a profile named twice, a bad prefix, a bad model name and an unknown key', () => {
    expect(() => loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture,fracture=x' } })).toThrow('"fracture=x": profile fracture is named twice');
    expect(() => loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture@fx' } })).toThrow('"fracture@fx": a prefix is "/" or "/" followed by path segments');
    expect(() => loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture@/a/:id' } })).toThrow('a prefix is "/"');
    expect(() => loadConfig({ env: { SIGHTLINE_PROFILES: 'fracture=../x' } })).toThrow('"fracture=../x": a model name is a letter or digit');
    const file = configFile({ profiles: { fracture: { model: 'fracture', mount: '/' } } });
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: file } })).toThrow('fracture: unknown key "mount" (keys: model, prefix, dataset)');
    const prefix = configFile({ profiles: { fracture: { prefix: 'fx' } } });
    expect(() => loadConfig({ env: { SIGHTLINE_CONFIG: prefix } })).toThrow('fracture.prefix: a prefix is "/"');
  });
});
