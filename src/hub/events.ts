import type { ModelStatus } from '../engine/repository.js';
import type { Detection } from '../store/index.js';
import type { EventStream } from './event-stream.js';
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
 * One event to a collection's topic and to one member's topic, serialised once and only when it has
 * somewhere to go (most publishes on one machine have no subscriber).
 */
function publishToBoth(stream: EventStream, allTopic: string, oneTopic: string, event: string, value: unknown): void {
  const topics = [allTopic, oneTopic];
  if (!stream.wanted(topics)) return;
  stream.emit({ topics, event, data: JSON.stringify(value) });
}

/** A stored detection goes to `detections` and to `detections/<cameraId>`. */
export function publishDetection(stream: EventStream, detection: Detection): void {
  publishToBoth(stream, DETECTIONS_TOPIC, cameraTopic(detection.cameraId), EventName.detectionCreated, detection);
}

/** A deleted detection goes where it was announced: `detections` and `detections/<cameraId>`. */
export function publishDetectionDeleted(stream: EventStream, deleted: { id: string; cameraId: string }): void {
  publishToBoth(stream, DETECTIONS_TOPIC, cameraTopic(deleted.cameraId), EventName.detectionDeleted, { id: deleted.id, cameraId: deleted.cameraId });
}

/** A job's new state goes to `jobs` and to `jobs/<id>`. */
export function publishJob(stream: EventStream, job: { id: string }, event: string = EventName.jobUpdated): void {
  publishToBoth(stream, JOBS_TOPIC, jobTopic(job.id), event, job);
}

/** A model's state goes to `models`; every replica announces its own models' states. */
export function publishModelState(stream: EventStream, status: ModelStatus & { replica?: string }): void {
  if (stream.wanted([MODELS_TOPIC])) stream.emit({ topics: [MODELS_TOPIC], event: EventName.modelState, data: JSON.stringify(status) });
}

/** An evaluation's state change or progress goes to `evaluations` and to `evaluations/<id>`. */
export function publishEvaluation(stream: EventStream, data: { id: string }, event: string): void {
  publishToBoth(stream, EVALUATIONS_TOPIC, evaluationTopic(data.id), event, data);
}
