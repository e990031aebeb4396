import sharp from 'sharp';

/**
 * libvips' operation cache keeps recent operations and their pixels for reuse. A server sees each
 * image once, so the cache would only hold memory after large images: it is off.
 */
sharp.cache(false);
