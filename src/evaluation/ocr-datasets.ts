import type { DatasetFiles } from './dataset-files.js';
import { type DatasetProblem, linesOf, OCR_LABELS_FILE, type OcrSampleSpec, type OcrTruthLine, utf8Text } from './dataset.js';
import type { Box } from './detect-metrics.js';

/** PaddleOCR's transcriptions for text that is there but not to be read (DetLabelEncode's ignore tags). */
export const IGNORE_TAGS: ReadonlySet<string> = new Set(['###', '*']);

/**
 * Where a named image is: as written, else without its first folder. PPOCRLabel writes
 * `<folder>/<image>`, the folder being the one that holds Label.txt, which is the dataset itself.
 */
function imagePath(files: DatasetFiles, named: string): string | undefined {
  const file = named.trim().replace(/^\.\//, '');
  if (files.has(file)) return file;
  const slash = file.indexOf('/');
  return slash > 0 && files.has(file.slice(slash + 1)) ? file.slice(slash + 1) : undefined;
}

const isPoint = (p: unknown): p is [number, number] => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v));

/** One labelled line from its JSON entry, or why it cannot be used. */
function truthLine(entry: unknown, at: number): OcrTruthLine | string {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `entry ${at}: expected an object with "transcription" and "points"`;
  const { transcription, points } = entry as { transcription?: unknown; points?: unknown };
  if (typeof transcription !== 'string') return `entry ${at}: "transcription" must be a string`;
  if (!Array.isArray(points) || points.length < 3 || !points.every(isPoint)) return `entry ${at}: "points" must be at least 3 [x, y] pairs of numbers`;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const box: Box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  return { text: transcription, box, ignored: IGNORE_TAGS.has(transcription) };
}

/**
 * PaddleOCR's text detection labels: `Label.txt` of `image<TAB>[{"transcription": "…",
 * "points": [[x, y], …]}, …]` lines, as PPOCRLabel writes them (four points clockwise from the
 * top left; polygons of more points are read too, other keys such as "difficult" are left alone).
 * An image whose line cannot be read entirely is left out, so no image is scored against part of
 * its labels; an empty list is a page without text.
 */
export async function readOcrLines(files: DatasetFiles): Promise<{ samples: OcrSampleSpec[]; problems: DatasetProblem[] }> {
  const samples: OcrSampleSpec[] = [];
  const problems: DatasetProblem[] = [];
  const labelledOn = new Map<string, string>();
  for (const { line, text } of linesOf(utf8Text(await files.read(OCR_LABELS_FILE)))) {
    if (text.trim() === '') continue;
    const where = `${OCR_LABELS_FILE}:${line}`;
    const tab = text.indexOf('\t');
    if (tab === -1) {
      problems.push({ file: where, message: 'expected image<TAB>[{"transcription": …, "points": …}, …]' });
      continue;
    }
    const named = text.slice(0, tab);
    const file = imagePath(files, named);
    if (file === undefined) {
      problems.push({
        file: named.trim() === '' ? where : named.trim(),
        message: named.trim() === '' ? 'no image named' : `missing: named on ${where} but not in the dataset`,
      });
      continue;
    }
    const first = labelledOn.get(file);
    if (first !== undefined) {
      problems.push({ file, message: `labelled again on ${where} (first on ${first}); the first labels are used` });
      continue;
    }
    let entries: unknown;
    try {
      entries = JSON.parse(text.slice(tab + 1));
    } catch (err) {
      problems.push({ file, message: `${where}: the labels are not JSON (${(err as Error).message})` });
      continue;
    }
    if (!Array.isArray(entries)) {
      problems.push({ file, message: `${where}: expected a JSON list of lines` });
      continue;
    }
    const lines = entries.map((e, i) => truthLine(e, i + 1));
    const bad = lines.find((l): l is string => typeof l === 'string');
    if (bad !== undefined) {
      problems.push({ file, message: `${where}: ${bad}` });
      continue;
    }
    labelledOn.set(file, where);
    samples.push({ file, lines: lines as OcrTruthLine[] });
  }
  return { samples, problems };
}
