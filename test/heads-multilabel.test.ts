import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

const geometry = imageGeometry([10, 10]);

function run(values: number[], options: Record<string, unknown>, dims: number[] = [1, values.length]) {
  const head = heads.multilabel;
  return head.run({ logits: { dims, data: Float32Array.from(values) } }, geometry, head.options.parse(options));
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('multilabel head', () => {
  it('gives each label its own sigmoid probability and lists those over the threshold, most probable first', () => {
    const answer = run([2, -1, 0.5, 3], { labels: ['acne', 'dryness', 'redness', 'wrinkles'] });
    expect(Object.keys(answer.probabilities)).toEqual(['acne', 'dryness', 'redness', 'wrinkles']);
    expect(answer.probabilities.acne).toBeCloseTo(sigmoid(2), 6);
    expect(answer.probabilities.dryness).toBeCloseTo(sigmoid(-1), 6);
    expect(answer.probabilities.redness).toBeCloseTo(sigmoid(0.5), 6);
    expect(answer.labels).toEqual(['wrinkles', 'acne', 'redness']);
  });

  it('takes a threshold; a probability equal to it is not over it; none present is an empty list', () => {
    expect(run([2, -1, 0.5], { labels: ['a', 'b', 'c'], threshold: 0.8 }).labels).toEqual(['a']);
    expect(run([0, 0], { labels: ['a', 'b'] }).labels).toEqual([]);
    expect(run([-5, -6], { labels: ['a', 'b'], threshold: 0 }).labels).toEqual(['a', 'b']);
  });

  it('reads probabilities as they are with sigmoid false, and refuses values outside [0, 1] then', () => {
    expect(run([0.9, 0.2, 0.9], { labels: ['a', 'b', 'c'], sigmoid: false })).toEqual({
      labels: ['a', 'c'],
      probabilities: { a: expect.closeTo(0.9, 6), b: expect.closeTo(0.2, 6), c: expect.closeTo(0.9, 6) },
    });
    expect(() => run([1.5, 0], { labels: ['a', 'b'], sigmoid: false })).toThrow(
      'multilabel head: output value 0 is 1.5, not a probability (set "sigmoid": true for logits)',
    );
  });

  it('accepts [1, C, 1, 1], refuses another shape or class count, and checks declared outputs at load', () => {
    expect(run([1, -1], { labels: ['a', 'b'] }, [1, 2, 1, 1]).labels).toEqual(['a']);
    expect(() => run([1, 2, 3, 4], { labels: ['a', 'b'] }, [1, 2, 2])).toThrow('multilabel head: expected output dims [1, C] or [1, C, 1, 1], got [1, 2, 2]');
    expect(() => run([1, 2, 3], { labels: ['a', 'b'] })).toThrow('multilabel head: model outputs 3 classes but 2 labels are configured');
    const options = heads.multilabel.options.parse({ labels: ['a', 'b'] });
    expect(heads.multilabel.checkOutputs!({ logits: ['N', 3] }, options)).toEqual({
      field: 'head.labels',
      message: '2 labels configured but output "logits" has 3 classes (dims [N, 3])',
    });
    expect(heads.multilabel.checkOutputs!({ logits: ['N', 2] }, options)).toBeUndefined();
  });

  it('validates its options', () => {
    expect(() => heads.multilabel.options.parse({ labels: ['a'], threshold: 2 })).toThrow();
    expect(() => heads.multilabel.options.parse({ labels: ['a'], topK: 2 })).toThrow();
    expect(heads.multilabel.options.parse({ labels: ['a'] })).toEqual({ labels: ['a'], threshold: 0.5, sigmoid: true });
  });
});
