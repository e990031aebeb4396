import { describe, expect, it } from 'vitest';
import { heads, type ImageGeometry } from '../dist/src/heads/index.js';

const geometry: ImageGeometry = {
  original: { width: 320, height: 48 },
  tensor: { width: 320, height: 48 },
  transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0 },
};

/**
 * A [1, T, C] probability sequence: step t puts `p` on class `steps[t][0]` and spreads the rest
 * evenly over the other classes (always below p here).
 */
function sequence(steps: Array<[number, number]>, classes: number) {
  const data = new Float32Array(steps.length * classes);
  steps.forEach(([cls, p], t) => {
    for (let c = 0; c < classes; c++) data[t * classes + c] = c === cls ? p : (1 - p) / (classes - 1);
  });
  return { out: { dims: [1, steps.length, classes], data } };
}

const recognize = (outputs: ReturnType<typeof sequence>, options: Record<string, unknown>) =>
  heads['text-recognize'].run(outputs, geometry, heads['text-recognize'].options.parse(options));

// Classes with the PaddleOCR layout: 0 blank, 1 h, 2 e, 3 l, 4 o, 5 ' '.
const charset = ['h', 'e', 'l', 'o'];
const [blank, h, e, l, o, space] = [0, 1, 2, 3, 4, 5];

describe('text-recognize head', () => {
  it('decodes "hh-e-ll-lo" to "hello" with the mean first-step probability', () => {
    const steps: Array<[number, number]> = [
      [h, 0.5],
      [h, 0.9], // repeat: collapsed, its probability is not counted
      [blank, 0.5],
      [e, 0.75],
      [blank, 0.5],
      [l, 0.625],
      [l, 0.4],
      [blank, 0.5], // separates the double l
      [l, 0.875],
      [o, 1],
    ];
    // (0.5 + 0.75 + 0.625 + 0.875 + 1) / 5 = 0.75
    expect(recognize(sequence(steps, 6), { charset })).toEqual({ text: 'hello', confidence: 0.75 });
  });

  it('maps the last class to the appended space', () => {
    const steps: Array<[number, number]> = [
      [h, 0.5],
      [space, 0.75],
      [o, 1],
    ];
    expect(recognize(sequence(steps, 6), { charset })).toEqual({ text: 'h o', confidence: 0.75 });
  });

  it('returns empty text with confidence 0 when every step is blank', () => {
    const steps: Array<[number, number]> = [
      [blank, 0.5],
      [blank, 0.9],
    ];
    expect(recognize(sequence(steps, 6), { charset })).toEqual({ text: '', confidence: 0 });
  });

  it('validates the class count against the charset', () => {
    const five = sequence([[h, 0.5]], 5);
    expect(() => recognize(five, { charset })).toThrow(
      'text-recognize head: model has 5 classes but the charset has 4 characters + space + blank = 6',
    );
    expect(recognize(five, { charset, useSpaceChar: false })).toEqual({ text: 'h', confidence: 0.5 });
    expect(() => recognize(sequence([[h, 0.5]], 6), { charset, useSpaceChar: false })).toThrow(
      'model has 6 classes but the charset has 4 characters + blank = 5',
    );
  });

  it('supports a blank at another index', () => {
    // Classes: 0 a, 1 b, 2 blank.
    const steps: Array<[number, number]> = [
      [0, 0.5],
      [0, 0.5],
      [2, 0.5],
      [0, 0.75],
      [1, 1],
    ];
    expect(recognize(sequence(steps, 3), { charset: ['a', 'b'], useSpaceChar: false, blankIndex: 2 })).toEqual({
      text: 'aab',
      confidence: 0.75,
    });
    expect(() => recognize(sequence(steps, 3), { charset: ['a', 'b'], useSpaceChar: false, blankIndex: 3 })).toThrow(
      'blankIndex 3 is outside the model',
    );
  });

  it('refuses outputs that are not [1, T, C]', () => {
    expect(() =>
      heads['text-recognize'].run(
        { out: { dims: [1, 6], data: new Float32Array(6) } },
        geometry,
        heads['text-recognize'].options.parse({ charset }),
      ),
    ).toThrow('expected output dims [1, T, C], got [1, 6]');
  });
});
