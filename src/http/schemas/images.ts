import { z } from 'zod';
import { IMAGE_MEDIA_TYPES } from '../../imaging/sniff.js';
import { base64Image, filePart, sha256, sha256Out } from './field-types.js';

export const imageParams = z.object({ sha256: sha256('the SHA-256 of the image bytes (either case)') });

/** An image stored by POST /v1/images, as its answer describes it. */
export const storedImage = z
  .strictObject({
    sha256: sha256Out('the SHA-256 of the image bytes: its address in GET /v1/images/{sha256} and `imageSha256` elsewhere'),
    mediaType: z.string().describe('as recognised from the content'),
    width: z.int().describe('after EXIF orientation'),
    height: z.int(),
    bytes: z.int(),
  })
  .meta({ id: 'StoredImage', description: 'A stored image: its hash, media type, size in pixels and in bytes.' });

/** The JSON form of POST /v1/images. */
export const uploadImageJson = z.strictObject({ image: base64Image() }, { error: 'expected a JSON object with "image"' });

/** The text fields of a multipart POST /v1/images: none are read. */
export const uploadImageFields = z.object({});
export const uploadImageMultipart = uploadImageFields.extend({ file: filePart('one image file (a part named `image` counts too)') });

/** Media types of the images the server recognises (by their content, whatever a request says). */
export const IMAGE_CONTENT_TYPES: readonly string[] = Object.values(IMAGE_MEDIA_TYPES);
