import type { Prediction } from './predictor.js';

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * The JSON answer for one image: the head's value plus size, batch size and latencies. HTTP
 * predict, WebSocket predict, detection verification and jobs all answer with it.
 */
export function predictionAnswer(model: string, p: Prediction, totalMs: number): Record<string, unknown> {
  const value = p.value !== null && typeof p.value === 'object' ? (p.value as Record<string, unknown>) : { value: p.value };
  return {
    model,
    ...value,
    width: p.width,
    height: p.height,
    batchSize: p.batchSize,
    latencyMs: { queueMs: round(p.queueMs), inferMs: round(p.inferMs), totalMs: round(totalMs), ...(p.steps ? { steps: p.steps } : {}) },
  };
}
