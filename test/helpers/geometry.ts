import type { ImageGeometry } from '../../dist/src/heads/index.js';

/**
 * Where an item's pixels came from, for head tests: original and tensor sizes as [width, height],
 * then the resize between them (scale 1 and no padding unless given).
 */
export function imageGeometry(
  original: [number, number],
  tensor: [number, number] = original,
  transform: Partial<ImageGeometry['transform']> = {},
): ImageGeometry {
  return {
    original: { width: original[0], height: original[1] },
    tensor: { width: tensor[0], height: tensor[1] },
    transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0, ...transform },
  };
}
