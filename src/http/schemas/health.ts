import { z } from 'zod';

export const liveAnswer = z.strictObject({ status: z.literal('live') });
export const readyAnswer = z.strictObject({
  status: z.literal('ready'),
  events: z
    .strictObject({ bus: z.literal('nats'), connected: z.boolean() })
    .optional()
    .describe('the event bus between replicas, when SIGHTLINE_EVENTS_URL names one'),
});
export const pingAnswer = z.strictObject({ message: z.literal('Server is alive!'), status: z.literal('ok') });
