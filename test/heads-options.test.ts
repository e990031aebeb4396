import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { headFor, heads, isTask, tasks } from '../dist/src/heads/index.js';

/** The issues of a failed parse as `path: message` lines. */
function issues(schema: z.ZodType, input: unknown): Array<{ path: PropertyKey[]; code: string }> {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the options to be rejected');
  return result.error.issues.map((i) => ({ path: i.path, code: i.code }));
}

describe('head registry', () => {
  it('lists every task and resolves heads by name', () => {
    expect(tasks).toEqual(['classify', 'detect', 'raw', 'text-detect', 'text-recognize', 'segment', 'box', 'multilabel', 'multi']);
    for (const task of tasks) {
      expect(headFor(task)).toBe(heads[task]);
      expect(heads[task].task).toBe(task);
    }
    expect(isTask('detect')).toBe(true);
    expect(isTask('segment')).toBe(true);
    expect(isTask('instance-segment')).toBe(false);
    expect(isTask('toString')).toBe(false);
    expect(() => headFor('instance-segment')).toThrow(
      'unknown task "instance-segment" (known: classify, detect, raw, text-detect, text-recognize, segment, box, multilabel, multi)',
    );
  });
});

describe('head option schemas', () => {
  it('fill in defaults', () => {
    expect(heads.classify.options.parse({ labels: ['a'] })).toEqual({ labels: ['a'], softmax: 'auto', topK: 5 });
    expect(heads.detect.options.parse({ labels: ['a'] })).toEqual({
      labels: ['a'],
      layout: 'auto',
      boxFormat: 'cxcywh',
      objectness: false,
      scoreThreshold: 0.25,
      iouThreshold: 0.45,
      maxDetections: 100,
      classAgnosticNms: false,
    });
    expect(heads.raw.options.parse({})).toEqual({});
    expect(heads['text-recognize'].options.parse({ charset: ['a'] })).toEqual({
      charset: ['a'],
      blankIndex: 0,
      useSpaceChar: true,
    });
    expect(heads['text-detect'].options.parse({})).toEqual({
      threshold: 0.3,
      boxThreshold: 0.6,
      unclipRatio: 1.5,
      minSize: 3,
      maxCandidates: 1000,
    });
  });

  it('name the offending field', () => {
    const result = heads.detect.options.safeParse({ labels: ['a'], scoreThreshold: 2 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toHaveLength(1);
    expect(result.error!.issues[0].path).toEqual(['scoreThreshold']);
    expect(z.prettifyError(result.error!)).toContain('at scoreThreshold');

    expect(issues(heads.detect.options, { labels: ['a'], iouThreshold: -0.1, layout: 'sideways' })).toEqual([
      { path: ['layout'], code: 'invalid_value' },
      { path: ['iouThreshold'], code: 'too_small' },
    ]);
    expect(issues(heads.detect.options, { labels: ['a'], maxDetections: 2.5 })).toEqual([{ path: ['maxDetections'], code: 'invalid_type' }]);
    expect(issues(heads.classify.options, { labels: ['a'], topK: 0 })).toEqual([{ path: ['topK'], code: 'too_small' }]);
    expect(issues(heads.classify.options, { labels: ['a'], softmax: 'yes' })).toEqual([{ path: ['softmax'], code: 'invalid_union' }]);
    expect(issues(heads['text-recognize'].options, { charset: [], blankIndex: -1 })).toEqual([
      { path: ['charset'], code: 'too_small' },
      { path: ['blankIndex'], code: 'too_small' },
    ]);
    expect(issues(heads['text-detect'].options, { unclipRatio: 0, minSize: 0 })).toEqual([
      { path: ['unclipRatio'], code: 'too_small' },
      { path: ['minSize'], code: 'too_small' },
    ]);
  });

  it('check labels', () => {
    expect(issues(heads.classify.options, {})).toEqual([{ path: ['labels'], code: 'invalid_type' }]);
    expect(issues(heads.classify.options, { labels: [] })).toEqual([{ path: ['labels'], code: 'too_small' }]);
    expect(issues(heads.detect.options, { labels: ['a', ''] })).toEqual([{ path: ['labels', 1], code: 'too_small' }]);
    const dup = heads.detect.options.safeParse({ labels: ['a', 'b', 'a'] });
    expect(dup.error!.issues.map((i) => [i.path, i.message])).toEqual([[['labels', 2], 'duplicate label "a"']]);
  });

  it('reject unknown keys so typos do not pass silently', () => {
    const result = heads.detect.options.safeParse({ labels: ['a'], scoreTreshold: 0.5 });
    expect(result.error!.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['scoreTreshold'], path: [] })]);
    expect(issues(heads.raw.options, { extra: 1 })).toEqual([{ path: [], code: 'unrecognized_keys' }]);
  });
});
