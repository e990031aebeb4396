/** The limits the suite's server runs with: small, so oversize cases stay cheap. */
export interface Limits {
  bodyBytes: number;
  jsonBytes: number;
  fileBytes: number;
  files: number;
  fields: number;
  imagePixels: number;
  wsPayloadBytes: number;
  detectionsPerRequest: number;
}

export const LIMITS: Limits = {
  bodyBytes: 2 * 1024 * 1024,
  jsonBytes: 1024 * 1024,
  fileBytes: 512 * 1024,
  files: 4,
  fields: 8,
  imagePixels: 4_000_000,
  wsPayloadBytes: 16 * 1024,
  detectionsPerRequest: 50,
};

export function limitsEnv(l: Limits): Record<string, string> {
  return {
    SIGHTLINE_MAX_BODY_BYTES: String(l.bodyBytes),
    SIGHTLINE_MAX_JSON_BYTES: String(l.jsonBytes),
    SIGHTLINE_MAX_FILE_BYTES: String(l.fileBytes),
    SIGHTLINE_MAX_FILES: String(l.files),
    SIGHTLINE_MAX_FIELDS: String(l.fields),
    SIGHTLINE_MAX_IMAGE_PIXELS: String(l.imagePixels),
    SIGHTLINE_WS_MAX_PAYLOAD_BYTES: String(l.wsPayloadBytes),
    SIGHTLINE_MAX_DETECTIONS_PER_REQUEST: String(l.detectionsPerRequest),
  };
}
