import { z } from 'zod';
import { IMAGE_MEDIA_TYPES } from '../../imaging/sniff.js';
import { sha256 } from './field-types.js';

export const imageParams = z.object({ sha256: sha256('the SHA-256 of the image bytes (either case)') });

/** Media types of the images the server recognises (by their content, whatever a request says). */
export const IMAGE_CONTENT_TYPES: readonly string[] = Object.values(IMAGE_MEDIA_TYPES);
