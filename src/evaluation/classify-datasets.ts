import type { DatasetFiles } from './dataset-files.js';
import { type ClassifySampleSpec, csvFile, type DatasetProblem, isImage, utf8Text } from './dataset.js';

interface Read {
  samples: ClassifySampleSpec[];
  problems: DatasetProblem[];
}

/** Labels the dataset names but the model does not know, each reported once per file. */
const unknownLabel = (label: string, labels: readonly string[]) =>
  `label ${JSON.stringify(label)} is not one of the model's labels (${labels
    .slice(0, 20)
    .map((l) => JSON.stringify(l))
    .join(', ')}${labels.length > 20 ? ', …' : ''})`;

/** `<label>/<image>`: the first folder of each image's path is its label. */
export function readImageFolder(files: DatasetFiles, labels: readonly string[]): Read {
  const index = new Map(labels.map((l, i) => [l, i]));
  const samples: ClassifySampleSpec[] = [];
  const problems: DatasetProblem[] = [];
  for (const file of files.paths) {
    const slash = file.indexOf('/');
    if (slash === -1) {
      if (isImage(file)) problems.push({ file, message: 'an image outside any label folder' });
      continue;
    }
    if (!isImage(file)) {
      problems.push({ file, message: 'not an image (by its extension)' });
      continue;
    }
    const label = file.slice(0, slash);
    const i = index.get(label);
    if (i === undefined) problems.push({ file, message: unknownLabel(label, labels) });
    else samples.push({ file, label: i });
  }
  return { samples, problems };
}

/** One CSV row's fields (RFC 4180: quoted fields may hold commas, quotes doubled, newlines). */
export function parseCsv(text: string): Array<{ line: number; fields: string[] }> {
  const rows: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      any = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || field !== '') rows.push({ line: rowLine, fields: [...fields, field] });
      fields = [];
      field = '';
      any = false;
      line++;
      rowLine = line;
    } else {
      field += ch;
      any = true;
    }
  }
  if (any || field !== '') rows.push({ line: rowLine, fields: [...fields, field] });
  return rows;
}

const HEADER_FILE = new Set(['file', 'filename', 'file_name', 'path', 'image', 'image_path']);
const HEADER_LABEL = new Set(['label', 'class', 'category', 'target']);

/** `file,label` rows; file paths are relative to the dataset's top folder. */
export async function readCsv(files: DatasetFiles, labels: readonly string[]): Promise<Read & { csv: string }> {
  const csv = csvFile(files);
  const index = new Map(labels.map((l, i) => [l, i]));
  const rows = parseCsv(utf8Text(await files.read(csv)));
  const samples: ClassifySampleSpec[] = [];
  const problems: DatasetProblem[] = [];
  let first = true;
  for (const { line, fields } of rows) {
    const where = `${csv}:${line}`;
    const header = first && HEADER_FILE.has(fields[0]?.trim().toLowerCase() ?? '') && HEADER_LABEL.has(fields[1]?.trim().toLowerCase() ?? '');
    first = false;
    if (header) continue;
    if (fields.length !== 2) {
      problems.push({ file: where, message: `expected 2 fields (file,label), got ${fields.length}` });
      continue;
    }
    const file = fields[0].trim().replace(/^\.\//, '');
    const label = fields[1].trim();
    if (!files.has(file)) {
      problems.push({ file: file === '' ? where : file, message: file === '' ? 'no file named' : `missing: named on ${where} but not in the dataset` });
      continue;
    }
    const i = index.get(label);
    if (i === undefined) problems.push({ file, message: unknownLabel(label, labels) });
    else samples.push({ file, label: i });
  }
  return { samples, problems, csv };
}
