import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

const geometry = imageGeometry([320, 48]);

/**
 * A [1, T, C] probability sequence: step t puts probabilities[t] on class path[t] and spreads the
 * rest evenly over the other classes (always below it here).
 */
function sequence(path: number[], probabilities: number[], classes: number) {
  const data = new Float32Array(path.length * classes);
  path.forEach((cls, t) => {
    const p = probabilities[t];
    for (let c = 0; c < classes; c++) data[t * classes + c] = c === cls ? p : (1 - p) / (classes - 1);
  });
  return { out: { dims: [1, path.length, classes], data } };
}

const recognize = (outputs: ReturnType<typeof sequence>, options: Record<string, unknown>) =>
  heads['text-recognize'].run(outputs, geometry, heads['text-recognize'].options.parse(options));

// Classes with the PaddleOCR layout: 0 blank, 1 h, 2 e, 3 l, 4 o, 5 ' '.
const charset = ['h', 'e', 'l', 'o'];
const [blank, h, e, l, o, space] = [0, 1, 2, 3, 4, 5];

describe('text-recognize head', () => {
  it('decodes "hh-e-ll-lo" to "hello" with the mean first-step probability', () => {
    // The second h and the second l are repeats: collapsed, their probabilities not counted; the blank
    // before the third l separates the double l. (0.5 + 0.75 + 0.625 + 0.875 + 1) / 5 = 0.75.
    const hello = sequence([h, h, blank, e, blank, l, l, blank, l, o], [0.5, 0.9, 0.5, 0.75, 0.5, 0.625, 0.4, 0.5, 0.875, 1], 6);
    expect(recognize(hello, { charset })).toEqual({ text: 'hello', confidence: 0.75 });
  });

  it('maps the last class to the appended space', () => {
    expect(recognize(sequence([h, space, o], [0.5, 0.75, 1], 6), { charset })).toEqual({ text: 'h o', confidence: 0.75 });
  });

  it('returns empty text with confidence 0 when every step is blank', () => {
    expect(recognize(sequence([blank, blank], [0.5, 0.9], 6), { charset })).toEqual({ text: '', confidence: 0 });
  });

  it('validates the class count against the charset', () => {
    const five = sequence([h], [0.5], 5);
    expect(() => recognize(five, { charset })).toThrow('text-recognize head: model has 5 classes but the charset has 4 characters + space + blank = 6');
    expect(recognize(five, { charset, useSpaceChar: false })).toEqual({ text: 'h', confidence: 0.5 });
    expect(() => recognize(sequence([h], [0.5], 6), { charset, useSpaceChar: false })).toThrow(
      'model has 6 classes but the charset has 4 characters + blank = 5',
    );
  });

  it('supports a blank at another index', () => {
    // Classes: 0 a, 1 b, 2 blank.
    const steps = sequence([0, 0, 2, 0, 1], [0.5, 0.5, 0.5, 0.75, 1], 3);
    expect(recognize(steps, { charset: ['a', 'b'], useSpaceChar: false, blankIndex: 2 })).toEqual({
      text: 'aab',
      confidence: 0.75,
    });
    expect(() => recognize(steps, { charset: ['a', 'b'], useSpaceChar: false, blankIndex: 3 })).toThrow('blankIndex 3 is outside the model');
  });

  it('refuses outputs that are not [1, T, C]', () => {
    expect(() =>
      heads['text-recognize'].run({ out: { dims: [1, 6], data: new Float32Array(6) } }, geometry, heads['text-recognize'].options.parse({ charset })),
    ).toThrow('expected output dims [1, T, C], got [1, 6]');
  });
});
