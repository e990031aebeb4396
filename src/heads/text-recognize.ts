import { z } from 'zod';
import { outputOption } from './common-options.js';
import { ctcGreedyDecode } from './ctc-decode.js';
import { outputMismatch } from './output-error.js';
import { numericData, outputDims } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';

const TASK = 'text-recognize';

export const textRecognizeOptions = z.strictObject({
  /** The model's character dictionary, one entry per line of its key file. */
  charset: z.array(z.string()).min(1, 'the charset must not be empty'),
  /** Class index of the CTC blank; the characters fill the other classes in order. */
  blankIndex: z.number().int().min(0).default(0),
  /** PaddleOCR appends ' ' after the key file's characters; the model then has charset + 2 classes. */
  useSpaceChar: z.boolean().default(true),
  output: outputOption,
});
export type TextRecognizeOptions = z.output<typeof textRecognizeOptions>;

export interface TextRecognizeAnswer {
  text: string;
  /** Mean probability of the kept characters; 0 when nothing was read (text ''). */
  confidence: number;
}

export const textRecognizeHead = tensorHead(TASK, textRecognizeOptions, (tensor, _geometry, options): TextRecognizeAnswer => {
  const [, steps, classes] = outputDims(TASK, tensor, [1, 'T', 'C']);
  const characters = options.useSpaceChar ? [...options.charset, ' '] : options.charset;
  if (classes !== characters.length + 1) {
    throw outputMismatch(
      TASK,
      `model has ${classes} classes but the charset has ${options.charset.length} characters` +
        `${options.useSpaceChar ? ' + space' : ''} + blank = ${characters.length + 1}`,
    );
  }
  if (options.blankIndex >= classes) {
    throw outputMismatch(TASK, `blankIndex ${options.blankIndex} is outside the model's ${classes} classes`);
  }

  const { indices, probabilities } = ctcGreedyDecode(numericData(TASK, tensor), steps, classes, options.blankIndex);
  let text = '';
  let sum = 0;
  for (let i = 0; i < indices.length; i++) {
    const c = indices[i];
    text += characters[c < options.blankIndex ? c : c - 1];
    sum += probabilities[i];
  }
  return { text, confidence: indices.length === 0 ? 0 : sum / indices.length };
});
