/**
 * Text recognition metrics: character error rate, word error rate and exact-line accuracy.
 * Rates are corpus-level (total edits over total reference length, as jiwer and PaddleOCR's
 * edit-distance metric report them), so long lines weigh more than short ones. Characters are
 * Unicode code points; words are runs of non-whitespace. Both sides are stripped of leading and
 * trailing whitespace first (jiwer's default for CER: recognisers pad lines with spaces), and
 * otherwise compared as given: no case folding, inner spaces count.
 */

export interface TextSample {
  file: string;
  expected: string;
  predicted: string;
}

export interface TextSampleResult extends TextSample {
  /** Character edits (insertions, deletions, substitutions) to turn `predicted` into `expected`. */
  characterEdits: number;
  wordEdits: number;
}

export interface TextMetrics {
  task: 'text-recognize';
  samples: number;
  /** Character edits over reference characters; null when the references hold no characters. */
  cer: number | null;
  /** Word edits over reference words; null when the references hold no words. */
  wer: number | null;
  /** Lines read exactly; null without samples. */
  exactLineAccuracy: number | null;
  characters: { reference: number; edits: number };
  words: { reference: number; edits: number };
  /** The lines with the most character edits (at most `worst` of them, most edits first, then file order). */
  worst: TextSampleResult[];
}

/** Levenshtein distance between two sequences (unit costs), in O(|a|·|b|) time and O(|b|) space. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = new Array<number>(b.length + 1);
  let current = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (ai === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

export const characters = (text: string): string[] => Array.from(text);
export const words = (text: string): string[] => text.split(/\s+/u).filter((w) => w !== '');

export function textMetrics(samples: readonly TextSample[], options: { worst?: number } = {}): TextMetrics {
  let refChars = 0;
  let charEdits = 0;
  let refWords = 0;
  let wordEdits = 0;
  let exact = 0;
  const results: TextSampleResult[] = samples.map((s) => {
    const expected = s.expected.trim();
    const predicted = s.predicted.trim();
    const expectedChars = characters(expected);
    const expectedWords = words(expected);
    const characterEdits = editDistance(expectedChars, characters(predicted));
    const wordEditCount = editDistance(expectedWords, words(predicted));
    refChars += expectedChars.length;
    refWords += expectedWords.length;
    charEdits += characterEdits;
    wordEdits += wordEditCount;
    if (expected === predicted) exact++;
    return { ...s, characterEdits, wordEdits: wordEditCount };
  });
  const worst = results
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.characterEdits > 0)
    .sort((a, b) => b.r.characterEdits - a.r.characterEdits || a.i - b.i)
    .slice(0, options.worst ?? 20)
    .map(({ r }) => r);
  return {
    task: 'text-recognize',
    samples: samples.length,
    cer: refChars === 0 ? null : charEdits / refChars,
    wer: refWords === 0 ? null : wordEdits / refWords,
    exactLineAccuracy: samples.length === 0 ? null : exact / samples.length,
    characters: { reference: refChars, edits: charEdits },
    words: { reference: refWords, edits: wordEdits },
    worst,
  };
}
