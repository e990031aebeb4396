import type { ModelStatus } from '../engine/repository.js';
import type { Detection } from '../store/index.js';
import type { Hub } from './hub.js';
import { cameraTopic, DETECTIONS_TOPIC, EVALUATIONS_TOPIC, evaluationTopic, jobTopic, JOBS_TOPIC, MODELS_TOPIC } from './topics.js';

/** Event names carried in the `event` field of every published message. */
export const EventName = {
  detectionCreated: 'detection.created',
  detectionDeleted: 'detection.deleted',
  jobUpdated: 'job.updated',
  jobDeleted: 'job.deleted',
  modelState: 'model.state',
  evaluationUpdated: 'evaluation.updated',
  evaluationProgress: 'evaluation.progress',
  evaluationDeleted: 'evaluation.deleted',
} as const;

/** A stored detection goes to `detections` and to `detections/<cameraId>`. */
export function publishDetection(hub: Hub, detection: Detection): void {
  const all = hub.hasSubscribers(DETECTIONS_TOPIC);
  const camera = cameraTopic(detection.cameraId);
  const one = hub.hasSubscribers(camera);
  if (!all && !one) return;
  const data = JSON.stringify(detection);
  if (all) hub.publish(DETECTIONS_TOPIC, EventName.detectionCreated, data);
  if (one) hub.publish(camera, EventName.detectionCreated, data);
}

/** A deleted detection goes where it was announced: `detections` and `detections/<cameraId>`. */
export function publishDetectionDeleted(hub: Hub, deleted: { id: string; cameraId: string }): void {
  const all = hub.hasSubscribers(DETECTIONS_TOPIC);
  const camera = cameraTopic(deleted.cameraId);
  const one = hub.hasSubscribers(camera);
  if (!all && !one) return;
  const data = JSON.stringify({ id: deleted.id, cameraId: deleted.cameraId });
  if (all) hub.publish(DETECTIONS_TOPIC, EventName.detectionDeleted, data);
  if (one) hub.publish(camera, EventName.detectionDeleted, data);
}

/** A job's new state goes to `jobs` and to `jobs/<id>`. */
export function publishJob(hub: Hub, job: { id: string }, event: string = EventName.jobUpdated): void {
  const all = hub.hasSubscribers(JOBS_TOPIC);
  const topic = jobTopic(job.id);
  const one = hub.hasSubscribers(topic);
  if (!all && !one) return;
  const data = JSON.stringify(job);
  if (all) hub.publish(JOBS_TOPIC, event, data);
  if (one) hub.publish(topic, event, data);
}

export function publishModelState(hub: Hub, status: ModelStatus): void {
  if (hub.hasSubscribers(MODELS_TOPIC)) hub.publish(MODELS_TOPIC, EventName.modelState, JSON.stringify(status));
}

/** An evaluation's state change or progress goes to `evaluations` and to `evaluations/<id>`. */
export function publishEvaluation(hub: Hub, data: { id: string }, event: string): void {
  const all = hub.hasSubscribers(EVALUATIONS_TOPIC);
  const topic = evaluationTopic(data.id);
  const one = hub.hasSubscribers(topic);
  if (!all && !one) return;
  const text = JSON.stringify(data);
  if (all) hub.publish(EVALUATIONS_TOPIC, event, text);
  if (one) hub.publish(topic, event, text);
}
