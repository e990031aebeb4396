import { z } from 'zod';
import type { SightlineError } from '../../errors.js';
import type {
  BoxAnswer,
  ClassifyAnswer,
  DetectAnswer,
  MultilabelAnswer,
  RawAnswer,
  SegmentAnswer,
  TextDetectAnswer,
  TextRecognizeAnswer,
} from '../../heads/index.js';
import type { StepLatency } from '../../pipelines/runner.js';
import { base64BatchImage, base64Image, filePart, sha256 } from './field-types.js';

/** Holds only when the two types accept the same values: keeps each answer schema in step with its head. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const box = z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('`[x1, y1, x2, y2]` in original image pixels');
const point = z.tuple([z.number(), z.number()]);
const polygon = z.array(point).describe('`[x, y]` vertices in original image pixels');

const classScore = z.strictObject({ label: z.string(), confidence: z.number() });
const classifyFields = {
  label: z.string().describe('the best class'),
  confidence: z.number(),
  probabilities: z.record(z.string(), z.number()).describe("every label's probability, in label order"),
  topK: z.array(classScore).describe('best first'),
};
const detectFields = {
  detections: z.array(z.strictObject({ label: z.string(), score: z.number(), box })).describe('best score first, after class-wise NMS'),
};
const textDetectFields = {
  regions: z.array(z.strictObject({ box, score: z.number(), points: polygon })).describe('text regions in reading order'),
};
const textRecognizeFields = {
  text: z.string(),
  confidence: z.number().describe('mean probability of the characters read; 0 when nothing was read'),
};
const rawFields = {
  outputs: z.record(z.string(), z.strictObject({ dims: z.array(z.int()), data: z.array(z.number()) })).describe('every model output by name'),
};
const segmentFields = {
  polygons: z
    .array(
      z.strictObject({
        label: z.string(),
        score: z.number().optional().describe('mean probability inside the region (probability maps only)'),
        points: polygon,
        holes: z.array(polygon),
        area: z.number().describe('original pixels², holes excluded'),
        bbox: box,
      }),
    )
    .describe('largest first'),
};
const multilabelFields = {
  labels: z.array(z.string()).describe('the labels above the threshold, most probable first'),
  probabilities: z.record(z.string(), z.number()).describe("every label's probability (sigmoid of its logit), in label order"),
};
const boxFields = {
  boxes: z.array(box).describe('in output order'),
};
const multiFields = {
  items: z
    .array(z.record(z.string(), z.unknown()))
    .optional()
    .describe("one per row of the item heads (box, classify): each item head's result under its name, then the rule fields"),
  summary: z.record(z.string(), z.unknown()).optional().describe("the rules' aggregates by name"),
};

const checks: [
  Same<z.output<z.ZodObject<typeof classifyFields>>, ClassifyAnswer>,
  Same<z.output<z.ZodObject<typeof detectFields>>, DetectAnswer>,
  Same<z.output<z.ZodObject<typeof textDetectFields>>, TextDetectAnswer>,
  Same<z.output<z.ZodObject<typeof textRecognizeFields>>, TextRecognizeAnswer>,
  Same<z.output<z.ZodObject<typeof rawFields>>, RawAnswer>,
  Same<z.output<z.ZodObject<typeof segmentFields>>, SegmentAnswer>,
  Same<z.output<z.ZodObject<typeof boxFields>>, BoxAnswer>,
  Same<z.output<z.ZodObject<typeof multilabelFields>>, MultilabelAnswer>,
] = [true, true, true, true, true, true, true, true];
void checks;

/** What every answer carries beside the head's fields. */
const common = {
  model: z.string(),
  width: z.int().describe('image width after EXIF orientation'),
  height: z.int(),
  batchSize: z.int().describe('size of the batch the image ran in'),
  latencyMs: z.strictObject({
    queueMs: z.number().describe('waiting in the batch scheduler'),
    inferMs: z.number().describe('worker: tensor fill, ONNX Runtime, post-processing'),
    totalMs: z.number().describe('the whole request'),
  }),
};

const stepLatency = z.strictObject({
  startMs: z.number().describe('when the step started, from the start of the request'),
  ms: z.number().describe("the step's wall time"),
  items: z.int().optional().describe('crops or answers it produced (per-crop steps)'),
  queueMs: z.number().optional().describe("model steps: the longest wait in the model's batch scheduler"),
  inferMs: z.number().optional().describe('model steps: the longest worker time of a batch its items ran in'),
  meanBatchSize: z.number().optional().describe('model steps: the mean size of the batches its items ran in (crops of other requests included)'),
});
const stepLatencyCheck: [Same<z.output<typeof stepLatency>, StepLatency>] = [true];
void stepLatencyCheck;

/**
 * A pipeline's answer: the fields its `output` names (the default `ocr`: `lines` of
 * `{text, confidence, points, box}` and `text`), so a loose object.
 */
const pipelineAnswer = z
  .looseObject({
    ...common,
    batchSize: z.int().describe("size of the batch the request's first model step ran in"),
    latencyMs: z.strictObject({
      queueMs: z.number().describe("summed over model steps: each step's longest queue wait"),
      inferMs: z.number().describe("summed over model steps: each step's longest worker time"),
      totalMs: z.number().describe('the whole request'),
      steps: z.record(z.string(), stepLatency).describe("by step id, and `input` for the image's decode"),
    }),
  })
  .meta({
    id: 'PipelineAnswer',
    description:
      'The answer of a pipeline (task `pipeline`) for one image: the fields its output names, e.g. for `ocr` `{"lines": [{"text", ' +
      '"confidence", "points", "box"}], "text"}` (a crop a step failed for has `error: {step, code, message}` instead of its fields), with each step\'s time.',
  });

const answer = <S extends z.core.$ZodLooseShape>(id: string, task: string, fields: S) =>
  z.strictObject({ ...common, ...fields }).meta({ id, description: `The answer of a \`${task}\` model for one image.` });

export const predictAnswer = z
  .union([
    answer('ClassifyAnswer', 'classify', classifyFields),
    answer('DetectAnswer', 'detect', detectFields),
    answer('TextDetectAnswer', 'text-detect', textDetectFields),
    answer('TextRecognizeAnswer', 'text-recognize', textRecognizeFields),
    answer('RawAnswer', 'raw', rawFields),
    answer('SegmentAnswer', 'segment', segmentFields),
    answer('BoxAnswer', 'box', boxFields),
    answer('MultilabelAnswer', 'multilabel', multilabelFields),
    // Heads other than box and classify answer under their own names, hence a loose object.
    z
      .looseObject({ ...common, ...multiFields })
      .meta({ id: 'MultiAnswer', description: 'The answer of a `multi` model for one image: items, summary, and any other head under its name.' }),
    pipelineAnswer,
  ])
  .meta({ id: 'PredictAnswer', description: "One image's answer: the head's fields for the model's task, plus size, batch size and latencies." });

const failedItem = z
  .strictObject({
    index: z.int().describe('position of the image in the request'),
    error: z.strictObject({ code: z.string(), message: z.string() }),
  })
  .meta({ id: 'PredictItemError', description: 'An image of a batch that could not be answered; the others still are.' });

export const batchAnswer = z
  .strictObject({
    model: z.string(),
    results: z.array(z.union([predictAnswer, failedItem])).describe('in input order'),
  })
  .meta({ id: 'PredictBatchAnswer', description: 'The answer to several images (JSON `images`, or several multipart files).' });

/**
 * The JSON form of a predict body: one image, a batch, or a stored image by its hash, read into
 * a list of image bytes (empty for a stored image, whose bytes the route reads).
 */
export function predictJsonBody(maxImages: number) {
  const listRule = 'expected a non-empty array of base64 strings';
  return z
    .object(
      {
        image: base64Image().optional(),
        images: z
          .array(base64BatchImage(), { error: listRule })
          .min(1, { error: listRule })
          .max(maxImages, { error: `at most ${maxImages} per request` })
          .optional()
          .describe(`several images (1 to ${maxImages}), answered as \`results\` in input order`),
        imageSha256: sha256('a stored image (POST /v1/images), instead of `image`').optional(),
      },
      { error: 'expected a JSON object with "image", "images" or "imageSha256"' },
    )
    .superRefine((body, ctx) => {
      const given = (['image', 'images', 'imageSha256'] as const).filter((k) => body[k] !== undefined);
      if (given.length > 1) {
        ctx.addIssue({ code: 'custom', path: [given[1]], message: `send either "${given[0]}" or "${given[1]}", not both` });
      } else if (given.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['images'], message: listRule });
      }
    })
    .transform((body): { images: Array<Buffer | SightlineError>; batch: boolean; imageSha256?: string } => {
      if (body.imageSha256 !== undefined) return { images: [], batch: false, imageSha256: body.imageSha256 };
      return body.image !== undefined ? { images: [body.image], batch: false } : { images: body.images!, batch: true };
    })
    .meta({
      id: 'PredictJsonBody',
      description: 'Send `image`, `images` or `imageSha256`, only one of them.',
      oneOf: [{ required: ['image'] }, { required: ['images'] }, { required: ['imageSha256'] }],
    });
}

/** The text fields of a multipart predict body: none are read (other fields are ignored). */
export const predictFields = z.object({});

/** The multipart form of a predict body: image files. */
export function predictMultipart(maxFiles: number) {
  return predictFields.extend({
    file: z
      .array(filePart('an image file'))
      .min(1)
      .max(maxFiles)
      .describe(`1 to ${maxFiles} image files; parts named \`files\` or \`image\` count too. Several files are answered as \`results\` in input order.`),
  });
}
