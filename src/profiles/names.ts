/** The services sightline can stand in for, each mounted by a profile of the same name. */
export const PROFILE_NAMES = ['damage-assessment', 'car-segmentation', 'image-analysis', 'vehicle-monitoring', 'fracture'] as const;

export type ProfileName = (typeof PROFILE_NAMES)[number];

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}
