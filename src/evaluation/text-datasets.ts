import type { DatasetFiles } from './dataset-files.js';
import { type DatasetProblem, linesOf, type TextSampleSpec, utf8Text } from './dataset.js';

/**
 * PaddleOCR's recognition labels: `labels.txt` of `file<TAB>text` lines, file paths relative to
 * the dataset's top folder. The text is everything after the first tab, kept as written.
 */
export async function readLabelsTxt(files: DatasetFiles): Promise<{ samples: TextSampleSpec[]; problems: DatasetProblem[] }> {
  const samples: TextSampleSpec[] = [];
  const problems: DatasetProblem[] = [];
  for (const { line, text } of linesOf(utf8Text(await files.read('labels.txt')))) {
    if (text.trim() === '') continue;
    const where = `labels.txt:${line}`;
    const tab = text.indexOf('\t');
    if (tab === -1) {
      problems.push({ file: where, message: 'expected file<TAB>text' });
      continue;
    }
    const file = text.slice(0, tab).trim().replace(/^\.\//, '');
    if (!files.has(file)) {
      problems.push({ file: file === '' ? where : file, message: file === '' ? 'no file named' : `missing: named on ${where} but not in the dataset` });
      continue;
    }
    samples.push({ file, text: text.slice(tab + 1) });
  }
  return { samples, problems };
}
