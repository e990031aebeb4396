import { z } from 'zod';

/** The one error shape every status from 400 up uses. */
export const errorBody = z
  .strictObject({
    error: z
      .looseObject({
        code: z
          .string()
          .describe(
            'stable, machine-readable: bad_request, not_found, method_not_allowed, conflict, payload_too_large, unsupported_media_type, ' +
              'undecodable_image, overloaded, …',
          ),
        message: z.string().describe('what went wrong, for people; names the field at fault (several bad fields: `"<field>: <rule>; <field>: <rule>"`)'),
        field: z
          .string()
          .optional()
          .describe('the request field at fault (the first, when several are), e.g. `detections[3].confidence`, `limit`, `Idempotency-Key`'),
        fields: z
          .array(
            z.strictObject({
              field: z.string().describe('as in `field`'),
              message: z.string().describe('the rule it breaks; starts with `missing:` when the field was left out'),
            }),
          )
          .optional()
          .describe('every bad field, when more than one is (400 bad_request)'),
        reasons: z.array(z.string()).optional().describe('why the server is not ready (503 not_ready)'),
        status: z.string().optional().describe("the job's status (409 job_not_finished, job_failed)"),
      })
      .describe('further fields may carry details of a particular error'),
  })
  .meta({ id: 'Error', description: 'Every error answer: `{"error": {"code", "message", …details}}`.' });
