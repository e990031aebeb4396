import { z } from 'zod';

/** Class names in model output order. Duplicates would collide in keyed answers, so they are refused. */
export const labelsOption = z
  .array(z.string().min(1, 'a label must not be empty'))
  .min(1, 'at least one label is required')
  .superRefine((labels, ctx) => {
    const seen = new Set<string>();
    labels.forEach((label, i) => {
      if (seen.has(label)) ctx.addIssue({ code: 'custom', message: `duplicate label "${label}"`, path: [i] });
      seen.add(label);
    });
  });

/** Which model output the head reads; may be left out when the model has exactly one. */
export const outputOption = z.string().min(1).optional();

/** A probability or score threshold. */
export const unitInterval = (fallback: number) => z.number().min(0).max(1).default(fallback);

/** A positive whole count. */
export const positiveCount = (fallback: number) => z.number().int().positive().default(fallback);
