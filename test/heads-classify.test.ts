import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

const geometry = imageGeometry([10, 10]);

function run(values: number[], options: Record<string, unknown>, dims: number[] = [1, values.length]) {
  const head = heads.classify;
  const parsed = head.options.parse(options);
  return head.run({ logits: { dims, data: Float32Array.from(values) } }, geometry, parsed);
}

describe('classify head', () => {
  it('applies a numerically stable softmax to logits', () => {
    const answer = run([1, 2, 3], { labels: ['a', 'b', 'c'] });
    expect(answer.probabilities.a).toBeCloseTo(0.0900306, 6);
    expect(answer.probabilities.b).toBeCloseTo(0.2447285, 6);
    expect(answer.probabilities.c).toBeCloseTo(0.6652409, 6);
    expect(Object.keys(answer.probabilities)).toEqual(['a', 'b', 'c']);
    expect(answer.label).toBe('c');
    expect(answer.confidence).toBeCloseTo(0.6652409, 6);
    // topK defaults to 5 and is capped at the 3 classes.
    expect(answer.topK.map((t) => t.label)).toEqual(['c', 'b', 'a']);
    expect(answer.topK[2].confidence).toBeCloseTo(0.0900306, 6);
  });

  it('stays finite on huge logits (max subtracted first)', () => {
    const answer = run([1000, 1001, 1002], { labels: ['a', 'b', 'c'] });
    expect(answer.probabilities.a).toBeCloseTo(0.0900306, 6);
    expect(answer.probabilities.c).toBeCloseTo(0.6652409, 6);
  });

  it('leaves an output that already is a probability distribution alone in auto mode', () => {
    const answer = run([0.1, 0.7, 0.2], { labels: ['a', 'b', 'c'] });
    expect(answer.probabilities).toEqual({ a: Math.fround(0.1), b: Math.fround(0.7), c: Math.fround(0.2) });
    expect(answer).toMatchObject({ label: 'b', confidence: Math.fround(0.7) });
  });

  it('treats a sum within 1e-3 of 1 as a distribution and one further off as logits', () => {
    const near = run([0.5, 0.5005], { labels: ['a', 'b'] });
    expect(near.probabilities).toEqual({ a: 0.5, b: Math.fround(0.5005) });
    // 0.5 + 0.6 = 1.1: every value is in [0, 1] but the sum is off, so softmax runs.
    const far = run([0.5, 0.6], { labels: ['a', 'b'] });
    expect(far.probabilities.a).toBeCloseTo(0.4750208, 6);
    expect(far.probabilities.b).toBeCloseTo(0.5249792, 6);
  });

  it('honours softmax true and false', () => {
    const forced = run([0.25, 0.75], { labels: ['a', 'b'], softmax: true });
    expect(forced.probabilities.a).toBeCloseTo(0.3775407, 6);
    expect(forced.probabilities.b).toBeCloseTo(0.6224593, 6);
    const skipped = run([1, 2, 3], { labels: ['a', 'b', 'c'], softmax: false });
    expect(skipped.probabilities).toEqual({ a: 1, b: 2, c: 3 });
    expect(skipped.topK).toEqual([
      { label: 'c', confidence: 3 },
      { label: 'b', confidence: 2 },
      { label: 'a', confidence: 1 },
    ]);
  });

  it('orders topK by confidence with ties in label order', () => {
    const answer = run([0.25, 0.5, 0.25], { labels: ['a', 'b', 'c'], topK: 3 });
    expect(answer.topK).toEqual([
      { label: 'b', confidence: 0.5 },
      { label: 'a', confidence: 0.25 },
      { label: 'c', confidence: 0.25 },
    ]);
    const flat = run([0.2, 0.2, 0.2, 0.2, 0.2], { labels: ['v', 'w', 'x', 'y', 'z'], topK: 2 });
    expect(flat.topK.map((t) => t.label)).toEqual(['v', 'w']);
    expect(flat.label).toBe('v');
  });

  it('accepts [1, C, 1, 1] outputs', () => {
    const answer = run([0.25, 0.75], { labels: ['cat', 'dog'], topK: 1 }, [1, 2, 1, 1]);
    expect(answer).toEqual({
      label: 'dog',
      confidence: 0.75,
      probabilities: { cat: 0.25, dog: 0.75 },
      topK: [{ label: 'dog', confidence: 0.75 }],
    });
  });

  it('keeps a label named __proto__ as an ordinary key', () => {
    const answer = run([0.25, 0.75], { labels: ['__proto__', 'x'] });
    expect(Object.keys(answer.probabilities)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(answer.probabilities, '__proto__')?.value).toBe(0.25);
  });

  it('refuses a label count that differs from the class count', () => {
    expect(() => run([1, 2, 3], { labels: ['a', 'b'] })).toThrow('classify head: model outputs 3 classes but 2 labels are configured');
    try {
      run([1, 2, 3], { labels: ['a', 'b'] });
    } catch (err) {
      expect(err).toMatchObject({ status: 500, code: 'model_output_mismatch' });
    }
  });

  it('refuses other output shapes and non-finite values', () => {
    expect(() => run([1, 2, 3, 4], { labels: ['a', 'b', 'c', 'd'] }, [1, 2, 2])).toThrow('expected output dims [1, C] or [1, C, 1, 1], got [1, 2, 2]');
    expect(() => run([1, Number.NaN], { labels: ['a', 'b'] })).toThrow('output value 1 is NaN');
  });

  it('needs the output named when the model has several', () => {
    const head = heads.classify;
    const options = head.options.parse({ labels: ['a', 'b'] });
    const outputs = {
      probs: { dims: [1, 2], data: Float32Array.of(0.25, 0.75) },
      features: { dims: [1, 3], data: Float32Array.of(1, 2, 3) },
    };
    expect(() => head.run(outputs, geometry, options)).toThrow('model has 2 outputs (probs, features); set the "output" option to pick one');
    const picked = head.run(outputs, geometry, head.options.parse({ labels: ['a', 'b'], output: 'probs' }));
    expect(picked.label).toBe('b');
    expect(() => head.run(outputs, geometry, head.options.parse({ labels: ['a', 'b'], output: 'nope' }))).toThrow(
      'output "nope" not found (model outputs: probs, features)',
    );
  });
});
