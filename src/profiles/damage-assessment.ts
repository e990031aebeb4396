import { z } from 'zod';
import type { ModelSpec } from '../engine/manifest.js';
import type { ClassifyAnswer, MultiAnswer } from '../heads/index.js';
import { constantJson, json } from '../http/reply.js';
import { filePart } from '../http/schemas/field-types.js';
import { successFalseErrors } from './error-shapes.js';
import { runModel } from './model-run.js';
import type { ProfileDefinition, ProfileRoute } from './profile.js';
import { route, routeTable } from './route-table.js';
import { readUpload } from './uploads.js';

/** What the answer is built from: the rule field and aggregates the model's business rules must declare. */
const COST_FIELD = 'estimatedCost';
const AGGREGATES = ['totalDamages', 'overallSeverity', 'costRange', 'confidence'] as const;

const range = z.strictObject({ min: z.number(), max: z.number() });
const damage = z.strictObject({
  id: z.string().describe('dmg-1, dmg-2, … in the order of the model’s items'),
  type: z.string().describe('Primary Damage Area for the first, Damage Area for any other'),
  location: z.literal('Detected by AI'),
  severity: z.string(),
  estimatedCost: range,
  coordinates: z.array(z.tuple([z.number(), z.number(), z.number(), z.number()])).describe('`[[x1, y1, x2, y2]]` in image pixels, two decimals'),
});
const analysis = z
  .strictObject({
    success: z.literal(true),
    totalDamages: z.int(),
    overallSeverity: z.string(),
    confidence: z.string().describe('two decimals, as a string: "0.66"'),
    costRange: range,
    damages: z.array(damage),
  })
  .meta({ id: 'DamageAnalysis' });
const pingAnswer = z.strictObject({ message: z.literal('Server is alive!'), status: z.literal('ok') });
const analyzeForm = z.object({ file: filePart('the vehicle photo') });

/** The box head and the severity (classify) head of the model: exactly one of each. */
function headNames(spec: ModelSpec | undefined): { box?: string; severity?: string; problems: string[] } {
  const head = (spec?.head ?? {}) as {
    heads?: Record<string, { task: string }>;
    rules?: { fields?: Record<string, unknown>; aggregates?: Record<string, unknown> };
  };
  const of = (task: string) =>
    Object.entries(head.heads ?? {})
      .filter(([, h]) => h.task === task)
      .map(([n]) => n);
  const boxes = of('box');
  const classes = of('classify');
  const problems: string[] = [];
  if (boxes.length !== 1) problems.push(`exactly one head of task "box" (it has ${boxes.length})`);
  if (classes.length !== 1) problems.push(`exactly one head of task "classify" for the severity (it has ${classes.length})`);
  if (!Object.hasOwn(head.rules?.fields ?? {}, COST_FIELD)) problems.push(`a rule field "${COST_FIELD}" (the cost range of each damage)`);
  const missing = AGGREGATES.filter((a) => !Object.hasOwn(head.rules?.aggregates ?? {}, a));
  if (missing.length > 0) problems.push(`rule aggregates ${missing.map((a) => `"${a}"`).join(', ')}`);
  return { ...(boxes.length === 1 ? { box: boxes[0] } : {}), ...(classes.length === 1 ? { severity: classes[0] } : {}), problems };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const PING = constantJson({ message: 'Server is alive!', status: 'ok' });

/**
 * The AuraScanAI damage assessment API (Flask): one photo in, the damage areas with their
 * severity and repair cost out, from a multi-head model whose business rules price each damage.
 */
export const damageAssessmentProfile: ProfileDefinition = {
  name: 'damage-assessment',
  description:
    'The AuraScanAI vehicle damage assessment API (Flask): GET /ping, POST /analyze with a multipart `file` → damages with box, severity ' +
    'and estimated cost, from a multi-head model with business rules. Errors are `{"success": false, "error": "…"}`.',
  model: {
    defaultName: 'damage-assessment',
    tasks: ['multi'],
    check: (spec) => {
      const { problems } = headNames(spec);
      return problems.length === 0 ? undefined : `the profile needs ${problems.join('; ')}`;
    },
  },
  errors: successFalseErrors,
  routes(profile): ProfileRoute[] {
    const names = () => {
      const current = headNames(profile.models.detail(profile.model!)?.spec ?? profile.spec);
      return current.problems.length === 0 ? current : headNames(profile.spec);
    };
    return routeTable({
      ping: route('GET /ping', 'public', 'The server is alive', { handler: () => PING, responses: { 200: { description: 'alive', json: pingAnswer } } }),
      analyze: route('POST /analyze', 'predict', 'Analyse a vehicle photo: damage areas, severity and estimated repair cost', {
        handler: async (rc) => {
          profile.models.assertServing(profile.model!);
          const file = await readUpload(rc, profile.config);
          const answer = (await runModel(profile, rc, file.bytes)).value as MultiAnswer;
          const { box, severity } = names();
          const summary = answer.summary ?? {};
          const damages = (answer.items ?? []).map((item, i): z.output<typeof damage> => ({
            id: `dmg-${i + 1}`,
            type: i === 0 ? 'Primary Damage Area' : 'Damage Area',
            location: 'Detected by AI',
            severity: (item[severity!] as ClassifyAnswer).label,
            estimatedCost: item[COST_FIELD] as z.output<typeof range>,
            coordinates: [(item[box!] as [number, number, number, number]).map(round2) as [number, number, number, number]],
          }));
          return json({
            success: true,
            totalDamages: Number(summary.totalDamages ?? damages.length),
            overallSeverity: String(summary.overallSeverity),
            confidence: Number(summary.confidence ?? 0).toFixed(2),
            costRange: (summary.costRange as z.output<typeof range> | undefined) ?? { min: 0, max: 0 },
            damages,
          } satisfies z.output<typeof analysis>);
        },
        body: { multipart: analyzeForm },
        responses: { 200: { description: 'the analysis', json: analysis } },
        errors: { 400: 'no `file` in the form', 422: 'the image could not be decoded', 503: 'the model is not ready or overloaded' },
      }),
    });
  },
};
