/**
 * Topic names clients subscribe to on /v1/ws:
 *   detections              every stored detection
 *   detections/<cameraId>   detections of one camera
 *   jobs                    every job state change
 *   jobs/<id>               state changes of one job
 *   models                  model state changes (loading, ready, failed, ...)
 *   evaluations             every evaluation's state changes and progress
 *   evaluations/<id>        state changes and progress of one evaluation
 */
export const DETECTIONS_TOPIC = 'detections';
export const JOBS_TOPIC = 'jobs';
export const MODELS_TOPIC = 'models';
export const EVALUATIONS_TOPIC = 'evaluations';

/** More topics than this on one socket is refused: each costs memory in uWS's topic tree. */
export const MAX_TOPICS_PER_SOCKET = 64;

const MAX_CAMERA_ID_LENGTH = 255;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type TopicCheck = { ok: true; topic: string } | { ok: false; message: string };

/** Validates a topic name and returns its canonical spelling (job ids lower-cased). */
export function checkTopic(value: unknown): TopicCheck {
  if (typeof value !== 'string' || value === '') return { ok: false, message: 'a topic must be a non-empty string' };
  if (value === DETECTIONS_TOPIC || value === JOBS_TOPIC || value === MODELS_TOPIC || value === EVALUATIONS_TOPIC) return { ok: true, topic: value };
  if (value.startsWith(`${DETECTIONS_TOPIC}/`)) {
    const camera = value.slice(DETECTIONS_TOPIC.length + 1);
    if (camera === '' || camera.length > MAX_CAMERA_ID_LENGTH) {
      return { ok: false, message: `camera id in ${JSON.stringify(value)} must be 1 to ${MAX_CAMERA_ID_LENGTH} characters` };
    }
    return { ok: true, topic: value };
  }
  if (value.startsWith(`${JOBS_TOPIC}/`)) {
    const id = value.slice(JOBS_TOPIC.length + 1).toLowerCase();
    if (!JOB_ID.test(id)) return { ok: false, message: `${JSON.stringify(value)}: a job id is a UUID` };
    return { ok: true, topic: `${JOBS_TOPIC}/${id}` };
  }
  if (value.startsWith(`${EVALUATIONS_TOPIC}/`)) {
    const id = value.slice(EVALUATIONS_TOPIC.length + 1).toLowerCase();
    if (!JOB_ID.test(id)) return { ok: false, message: `${JSON.stringify(value)}: an evaluation id is a UUID` };
    return { ok: true, topic: `${EVALUATIONS_TOPIC}/${id}` };
  }
  return {
    ok: false,
    message:
      `unknown topic ${JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value)}; ` +
      'topics are detections, detections/<cameraId>, jobs, jobs/<id>, models, evaluations and evaluations/<id>',
  };
}

export const cameraTopic = (cameraId: string): string => `${DETECTIONS_TOPIC}/${cameraId}`;
export const jobTopic = (id: string): string => `${JOBS_TOPIC}/${id}`;
export const evaluationTopic = (id: string): string => `${EVALUATIONS_TOPIC}/${id}`;
