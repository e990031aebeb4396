import type { PipelineSpec } from './manifest.js';

type State = 'loading' | 'ready' | 'failed' | 'unloading' | 'unloaded';

/** A step as `/v1/models` lists it: its operation, and for model steps the model and its state. */
export interface PipelineStepView {
  id: string;
  op: 'predict' | 'crop' | 'map' | 'rotate' | 'rules';
  model?: string;
  /** The step model's state, `missing` when the repository does not hold it. */
  modelState?: State | 'missing';
}

/** What the repository says of a name a step uses. */
export interface StepModelLookup {
  state: State;
  error?: string;
  /** The name is a pipeline, which a step cannot run. */
  pipeline: boolean;
}

export interface PipelineReadiness {
  /** ready when every step model serves; loading while one is loading (and none is lost); failed otherwise. */
  state: 'ready' | 'loading' | 'failed';
  /** Why it is not ready, one line per step model. */
  reasons: string[];
  steps: PipelineStepView[];
}

/** A pipeline serves only while every model its steps name serves. */
export function pipelineReadiness(spec: PipelineSpec, lookup: (model: string) => StepModelLookup | undefined): PipelineReadiness {
  const reasons: string[] = [];
  let loading = false;
  let lost = false;
  for (const model of spec.models) {
    const found = lookup(model);
    if (found === undefined) {
      reasons.push(`step model ${model} is not in the repository`);
      lost = true;
    } else if (found.pipeline) {
      reasons.push(`step model ${model} is a pipeline; a step runs a model`);
      lost = true;
    } else if (found.state === 'loading') {
      reasons.push(`step model ${model} is loading`);
      loading = true;
    } else if (found.state !== 'ready') {
      reasons.push(`step model ${model} is ${found.state}${found.error ? `: ${found.error}` : ''}`);
      lost = true;
    }
  }
  const steps = spec.steps.map((s): PipelineStepView => {
    const model = s.op === 'predict' || s.op === 'map' ? s.model : undefined;
    if (model === undefined) return { id: s.id, op: s.op };
    const found = lookup(model);
    return { id: s.id, op: s.op, model, modelState: found === undefined || found.pipeline ? 'missing' : found.state };
  });
  return { state: lost ? 'failed' : loading ? 'loading' : 'ready', reasons, steps };
}
