import { describe, expect, it } from 'vitest';
import { planInstances, plannedCores, type PlanInput } from '../dist/src/engine/instance-plan.js';

// The shipped models' hints: the text-direction classifier (48×192), the recogniser (48×960), the detector (960²).
const classifier: PlanInput = { name: 'text-direction', inputElements: 48 * 192 * 3, fileBytes: 578_966 };
const recogniser: PlanInput = { name: 'text-recognize', inputElements: 48 * 960 * 3, fileBytes: 10_822_323 };
const detector: PlanInput = { name: 'text-detect', inputElements: 960 * 960 * 3, fileBytes: 4_745_517 };
const tfjs: PlanInput = {
  name: 'content-safety',
  intraOpThreads: 1,
  oneInstance: 'TensorFlow.js chooses its threads per process',
  inputElements: 224 * 224 * 3,
};

/** M models, every third with fixed values, the rest open, sizes alternating. */
function models(m: number, withFixed: boolean): PlanInput[] {
  return Array.from({ length: m }, (_, i) => {
    const base: PlanInput = { name: `m${i}`, inputElements: i % 2 === 0 ? 48 * 192 * 3 : 640 * 640 * 3 };
    if (!withFixed) return base;
    if (i % 3 === 0) return { ...base, instances: 1, intraOpThreads: 1 };
    if (i % 3 === 1) return { ...base, instances: 2 };
    return { ...base, intraOpThreads: 1 };
  });
}

const minimumOf = (m: PlanInput): number => (m.instances ?? 1) * (m.intraOpThreads ?? 1);

describe('instance plan', () => {
  for (const cores of [1, 2, 4, 16]) {
    for (let m = 1; m <= 6; m++) {
      for (const withFixed of [false, true]) {
        it(`${cores} cores, ${m} models${withFixed ? ' (some fixed)' : ''}: each within the cores, fixed values obeyed`, () => {
          const inputs = models(m, withFixed);
          const plans = planInstances(cores, inputs);
          expect([...plans.keys()].sort()).toEqual(inputs.map((i) => i.name).sort());
          for (const input of inputs) {
            const plan = plans.get(input.name)!;
            // Capacity: one model alone may fill the cores (the run ledger bounds them together), never more unless its fixed values do.
            expect(plan.instances * plan.intraOpThreads).toBeLessThanOrEqual(Math.max(cores, minimumOf(input)));
            expect(plan.instances).toBeGreaterThanOrEqual(1);
            expect(plan.intraOpThreads).toBeGreaterThanOrEqual(1);
            if (input.instances !== undefined) expect(plan.instances).toBe(input.instances);
            if (input.intraOpThreads !== undefined) expect(plan.intraOpThreads).toBe(input.intraOpThreads);
            const both = input.instances !== undefined && input.intraOpThreads !== undefined;
            expect(plan.chosenBy).toBe(both ? 'manifest' : 'plan');
            expect(plan.reason).toMatch(/\S/);
          }
          // Open models each get every core as capacity (up to 8 cores split exactly).
          if (!withFixed && cores <= 8) expect(plannedCores(plans)).toBe(cores * m);
        });
      }
    }
  }

  it('gives the small classifier single-threaded instances and the detector one instance with threads', () => {
    const alone = planInstances(2, [classifier]).get('text-direction')!;
    expect(alone).toMatchObject({ instances: 2, intraOpThreads: 1, chosenBy: 'plan', size: 'small' });
    expect(alone.reason).toMatch(/^small model/);
    const big = planInstances(2, [detector]).get('text-detect')!;
    expect(big).toMatchObject({ instances: 1, intraOpThreads: 2, chosenBy: 'plan', size: 'big' });

    const together = planInstances(8, [classifier, detector]);
    expect(together.get('text-direction')).toMatchObject({ instances: 8, intraOpThreads: 1 });
    expect(together.get('text-detect')).toMatchObject({ instances: 1, intraOpThreads: 8 });
  });

  it('gives each of the four shipped models the 2 cores as capacity, whatever the others hold', () => {
    const plans = planInstances(2, [classifier, recogniser, detector, tfjs]);
    expect(Object.fromEntries([...plans].map(([name, p]) => [name, [p.instances, p.intraOpThreads]]))).toEqual({
      'text-direction': [2, 1],
      'text-recognize': [2, 1],
      'text-detect': [1, 2],
      'content-safety': [1, 1],
    });
    expect(plans.get('text-detect')!.reason).toMatch(
      /up to 2 core\(s\) of capacity; the run ledger keeps the runs of all 4 model\(s\) within the 2 core\(s\)$/,
    );
    expect(plans.get('content-safety')!.reason).toMatch(/^one instance \(TensorFlow\.js/);
  });

  it('obeys fixed values without taking them from the open models', () => {
    const plans = planInstances(4, [{ ...detector, instances: 1, intraOpThreads: 3 }, classifier]);
    expect(plans.get('text-detect')).toMatchObject({ instances: 1, intraOpThreads: 3, chosenBy: 'manifest', reason: 'fixed by the manifest' });
    expect(plans.get('text-direction')).toMatchObject({ instances: 4, intraOpThreads: 1 });
    const halfFixed = planInstances(4, [{ ...classifier, instances: 2 }]).get('text-direction')!;
    expect(halfFixed).toMatchObject({ instances: 2, intraOpThreads: 2, chosenBy: 'plan' });
    expect(halfFixed.reason).toMatch(/^instances fixed by the manifest/);
  });

  it('is deterministic: the order of the models does not change the plan', () => {
    const inputs = [classifier, recogniser, detector, ...models(3, true)];
    const a = planInstances(16, inputs);
    const b = planInstances(16, [...inputs].reverse());
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
  });
});
