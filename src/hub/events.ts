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

/**
 * One message to a collection's topic and to one member's topic, serialised once and only when either
 * has a subscriber (most publishes have none).
 */
function publishToBoth(hub: Hub, allTopic: string, oneTopic: string, event: string, value: unknown): void {
  const all = hub.hasSubscribers(allTopic);
  const one = hub.hasSubscribers(oneTopic);
  if (!all && !one) return;
  const data = JSON.stringify(value);
  if (all) hub.publish(allTopic, event, data);
  if (one) hub.publish(oneTopic, event, data);
}

/** A stored detection goes to `detections` and to `detections/<cameraId>`. */
export function publishDetection(hub: Hub, detection: Detection): void {
  publishToBoth(hub, DETECTIONS_TOPIC, cameraTopic(detection.cameraId), EventName.detectionCreated, detection);
}

/** A deleted detection goes where it was announced: `detections` and `detections/<cameraId>`. */
export function publishDetectionDeleted(hub: Hub, deleted: { id: string; cameraId: string }): void {
  publishToBoth(hub, DETECTIONS_TOPIC, cameraTopic(deleted.cameraId), EventName.detectionDeleted, { id: deleted.id, cameraId: deleted.cameraId });
}

/** A job's new state goes to `jobs` and to `jobs/<id>`. */
export function publishJob(hub: Hub, job: { id: string }, event: string = EventName.jobUpdated): void {
  publishToBoth(hub, JOBS_TOPIC, jobTopic(job.id), event, job);
}

export function publishModelState(hub: Hub, status: ModelStatus): void {
  if (hub.hasSubscribers(MODELS_TOPIC)) hub.publish(MODELS_TOPIC, EventName.modelState, JSON.stringify(status));
}

/** An evaluation's state change or progress goes to `evaluations` and to `evaluations/<id>`. */
export function publishEvaluation(hub: Hub, data: { id: string }, event: string): void {
  publishToBoth(hub, EVALUATIONS_TOPIC, evaluationTopic(data.id), event, data);
}
