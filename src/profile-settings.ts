// Which service profiles there are and how each is mounted: read by the configuration at start, so it
// lives beside config.ts; the profiles import it from here and config.ts imports nothing of theirs.
import { z } from 'zod';

/** The services sightline can stand in for, each mounted by a profile of the same name. */
export const PROFILE_NAMES = ['damage-assessment', 'car-segmentation', 'image-analysis', 'vehicle-monitoring', 'fracture'] as const;

export type ProfileName = (typeof PROFILE_NAMES)[number];

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}

/** How one enabled profile is mounted. */
export interface ProfileSetting {
  /** The model (or pipeline) the profile runs; the profile's own default when left out. */
  model?: string;
  /** Where its routes are mounted: `/` or `/segment/segment…`. */
  prefix: string;
  /** A folder of labelled test images (profiles that evaluate on one). */
  dataset?: string;
}

export type ProfileSettings = Partial<Record<ProfileName, ProfileSetting>>;

const SEGMENT = /^[A-Za-z0-9._~-]+$/;
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `/`, or literal segments without a trailing slash (`/fracture`, `/api/v0`); undefined when it is not one. */
export function normalPrefix(value: string): string | undefined {
  if (value === '/' || value === '') return '/';
  const trimmed = value.endsWith('/') ? value.slice(0, -1) : value;
  if (!trimmed.startsWith('/')) return undefined;
  const segments = trimmed.slice(1).split('/');
  return segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..') ? trimmed : undefined;
}

const PREFIX_RULE = 'a prefix is "/" or "/" followed by path segments of letters, digits, ".", "_", "~" or "-"';
const MODEL_RULE = 'a model name is a letter or digit, then letters, digits, ".", "_" or "-"';
const unknownProfile = (name: string) => `unknown profile ${JSON.stringify(name)} (profiles: ${PROFILE_NAMES.join(', ')})`;

const fileEntry = z.strictObject({
  model: z.string().regex(MODEL, { error: MODEL_RULE }).optional(),
  prefix: z
    .string()
    .optional()
    .transform((p, ctx) => {
      const prefix = normalPrefix(p ?? '/');
      if (prefix === undefined) {
        ctx.addIssue({ code: 'custom', message: PREFIX_RULE });
        return z.NEVER;
      }
      return prefix;
    }),
  dataset: z.string().min(1).optional(),
});

/** One item of SIGHTLINE_PROFILES: `name`, `name=model`, `name@/prefix` or `name=model@/prefix`. */
const LIST_ITEM = /^([a-z-]+)(?:=([^@]*))?(?:@(.*))?$/;

function parseList(text: string, ctx: z.RefinementCtx): ProfileSettings {
  const out: ProfileSettings = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = LIST_ITEM.exec(item);
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)}: ${message}` });
    if (!m) {
      problem('expected name, name=model, name@/prefix or name=model@/prefix');
      continue;
    }
    const [, name, model, rawPrefix] = m as unknown as [string, string, string | undefined, string | undefined];
    if (!isProfileName(name)) {
      problem(unknownProfile(name));
      continue;
    }
    if (out[name] !== undefined) {
      problem(`profile ${name} is named twice`);
      continue;
    }
    if (model !== undefined && !MODEL.test(model)) {
      problem(MODEL_RULE);
      continue;
    }
    const prefix = normalPrefix(rawPrefix ?? '/');
    if (prefix === undefined) {
      problem(PREFIX_RULE);
      continue;
    }
    out[name] = { prefix, ...(model !== undefined ? { model } : {}) };
  }
  return out;
}

function fromObject(value: Record<string, unknown>, ctx: z.RefinementCtx): ProfileSettings {
  const out: ProfileSettings = {};
  for (const [name, entry] of Object.entries(value)) {
    if (!isProfileName(name)) {
      ctx.addIssue({ code: 'custom', message: unknownProfile(name) });
      continue;
    }
    const parsed = fileEntry.safeParse(entry ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      const message = issue.code === 'unrecognized_keys' ? `unknown key ${JSON.stringify(issue.keys[0])} (keys: model, prefix, dataset)` : issue.message;
      ctx.addIssue({ code: 'custom', message: `${name}${at}: ${message}` });
      continue;
    }
    const { model, prefix, dataset } = parsed.data;
    out[name] = { prefix, ...(model !== undefined ? { model } : {}), ...(dataset !== undefined ? { dataset } : {}) };
  }
  return out;
}

/**
 * The `profiles` setting: in the config file an object (`{"fracture": {"model": "fracture",
 * "prefix": "/"}}`), in SIGHTLINE_PROFILES or --profiles a list (`fracture=fracture,vehicle-monitoring@/vm`).
 */
export const profileSettingsSchema: z.ZodType<ProfileSettings> = z.unknown().transform((value, ctx): ProfileSettings => {
  if (typeof value === 'string') return parseList(value, ctx);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return fromObject(value as Record<string, unknown>, ctx);
  ctx.addIssue({ code: 'custom', message: PROFILE_SETTINGS_EXPECTED });
  return z.NEVER;
});

export const PROFILE_SETTINGS_EXPECTED =
  'a list of profiles (name, name=model, name@/prefix, name=model@/prefix; comma-separated) or, in the config file, an object {"<profile>": ' +
  '{"model", "prefix"}}';
