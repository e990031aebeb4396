/**
 * One line of a PaddleOCR detection label (Label.txt): its transcription and the corners of its box
 * [x1, y1, x2, y2], clockwise from the top left.
 */
export const paddleLabel = (transcription: string, [x1, y1, x2, y2]: readonly [number, number, number, number]) => ({
  transcription,
  points: [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ],
  difficult: false,
});
