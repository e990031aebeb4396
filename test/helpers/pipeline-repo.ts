import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolvePackageFile } from '../../dist/src/engine/package-path.js';
import { repoRoot } from './server.js';

/** Writes `<dir>/<name>/model.json` as a pipeline manifest (task "pipeline", no model file). */
export function writePipeline(dir: string, name: string, manifest: Record<string, unknown>): void {
  mkdirSync(path.join(dir, name), { recursive: true });
  writeFileSync(path.join(dir, name, 'model.json'), JSON.stringify({ task: 'pipeline', ...manifest }, null, 2));
}

const shippedModels = path.join(repoRoot, 'models');

/**
 * A shipped model's manifest for a repository elsewhere: its package file and head files named by
 * absolute path (a test repository lives outside the project, where packages do not resolve).
 */
export function shippedManifest(name: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const dir = path.join(shippedModels, name);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown> & { file: string; head?: Record<string, unknown> };
  const resolve = (ref: string) => resolvePackageFile(ref, dir) ?? path.resolve(dir, ref);
  const head = { ...(manifest.head ?? {}) };
  for (const key of ['labelsFile', 'charsetFile']) if (typeof head[key] === 'string') head[key] = resolve(head[key]);
  return { ...manifest, file: resolve(manifest.file), head, ...changes };
}

/** Writes a shipped model's manifest (see shippedManifest) into a test repository. */
export function writeShipped(dir: string, name: string, changes: Record<string, unknown> = {}): void {
  mkdirSync(path.join(dir, name), { recursive: true });
  writeFileSync(path.join(dir, name, 'model.json'), JSON.stringify(shippedManifest(name, changes), null, 2));
}

/**
 * A fresh repository holding the shipped OCR models (text-detect, text-direction, text-recognize)
 * and the shipped ocr pipeline; `ocr` is that pipeline's manifest, for variants of it.
 */
export function ocrRepo(prefix: string): { repo: string; ocr: Record<string, unknown> } {
  const repo = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const name of ['text-detect', 'text-direction', 'text-recognize']) writeShipped(repo, name);
  const { task: _task, ...ocr } = JSON.parse(readFileSync(path.join(shippedModels, 'ocr', 'model.json'), 'utf8')) as Record<string, unknown>;
  writePipeline(repo, 'ocr', ocr);
  return { repo, ocr };
}
