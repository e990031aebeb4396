import type { Logger } from '../logger.js';
import { CalibrationCache } from './calibration-cache.js';
import { calibrates, calibrationPlan, chooseFromFigures, measureFigures, withCalibration, type Measure } from './calibration.js';
import type { CoreLedger } from './core-ledger.js';
import type { ModelSpec } from './manifest.js';
import { ModelPool } from './pool.js';

export interface CalibratorOptions {
  cores: number;
  ledger: CoreLedger;
  logger: Logger;
  /** Where the cache file lives; without it, figures are kept for this process only. */
  dataDir?: string | undefined;
  /** false: no calibration, the size rule of instance-plan.ts stands. Default true. */
  enabled?: boolean | undefined;
  /** Takes the figures in place of the probe runs (tests inject figures with it). */
  measure?: Measure | undefined;
}

/**
 * Calibration as part of a model's load (see calibration.ts for what is measured and chosen). The
 * figures come from the cache, or from a probe on the model's first instance: the instance group
 * is started with the size rule's plan, probed, and kept when the choice is the same instances ×
 * threads, so the common case costs no second load. A probe that fails leaves the rule's plan
 * (and its reason says why); a model that fails to load fails as it would without calibration.
 */
export class Calibrator {
  private readonly options: CalibratorOptions;
  private readonly cache: CalibrationCache;

  constructor(options: CalibratorOptions) {
    this.options = options;
    this.cache = new CalibrationCache(options.dataDir);
  }

  get enabled(): boolean {
    return this.options.enabled !== false;
  }

  /** The spec to load and, when calibration started one that fits it, its started instance group. */
  async calibrate(spec: ModelSpec, onRestart: () => void): Promise<{ spec: ModelSpec; pool: ModelPool | undefined }> {
    if (!this.enabled || !calibrates(spec)) return { spec, pool: undefined };
    const { cores, ledger, logger } = this.options;
    const plan = await calibrationPlan(spec, cores);
    const cached = await this.cache.get(plan.key);
    if (cached !== undefined) {
      const choice = chooseFromFigures(plan, cached, 'cache', 0);
      logger.info(
        { model: spec.name, instances: choice.instances, intraOpThreads: choice.intraOpThreads, batching: choice.report.batching, runs: choice.report.runs },
        'model calibration read from the cache',
      );
      return { spec: withCalibration(spec, choice), pool: undefined };
    }

    const pool = new ModelPool(spec, onRestart, ledger);
    try {
      await pool.start();
    } catch (err) {
      await pool.close().catch(() => undefined);
      throw err;
    }
    let calibrated: ModelSpec;
    const started = performance.now();
    try {
      const figures = await measureFigures(spec, plan, (steps, keep) => pool.probe(steps, keep), this.options.measure);
      const choice = chooseFromFigures(plan, figures, 'measured', performance.now() - started);
      calibrated = withCalibration(spec, choice);
      logger.info(
        {
          model: spec.name,
          instances: choice.instances,
          intraOpThreads: choice.intraOpThreads,
          batching: choice.report.batching,
          runs: choice.report.runs,
          candidates: choice.report.candidates,
          measureMs: choice.report.measureMs,
        },
        'model calibrated',
      );
      await this.cache
        .put(plan.key, spec.name, figures)
        .catch((err: unknown) => logger.warn({ model: spec.name, err: (err as Error).message }, 'calibration figures not cached'));
    } catch (err) {
      const message = (err as Error).message;
      logger.warn({ model: spec.name, err: message }, 'model calibration failed; the size rule stands');
      calibrated = spec.plan ? { ...spec, plan: { ...spec.plan, reason: `${spec.plan.reason}; calibration failed (${message}), so this rule stands` } } : spec;
    }
    if (calibrated.instances === spec.instances && calibrated.intraOpThreads === spec.intraOpThreads) return { spec: calibrated, pool };
    await pool.close();
    return { spec: calibrated, pool: undefined };
  }
}
