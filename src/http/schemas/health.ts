import { z } from 'zod';

export const liveAnswer = z.strictObject({ status: z.literal('live') });
export const readyAnswer = z.strictObject({ status: z.literal('ready') });
export const pingAnswer = z.strictObject({ message: z.literal('Server is alive!'), status: z.literal('ok') });
