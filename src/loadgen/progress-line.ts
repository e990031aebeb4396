/** Where progress goes: stderr, or anything with the same two members (tests). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** A plain (non-TTY) progress line at most this often: CI logs keep a trace without a flood. */
const PLAIN_EVERY_MS = 5000;

/**
 * One progress line: on a terminal it is rewritten in place (carriage return, clear to end of
 * line); elsewhere (CI logs, files) plain lines are written now and then, and at the end.
 */
export class ProgressLine {
  private lastPlain = performance.now();
  private shown = false;

  constructor(private readonly stream: ProgressStream) {}

  update(text: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${text}\x1b[K`);
      this.shown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = now;
    this.stream.write(`${text}\n`);
  }

  /** The step's last word, on a line of its own that stays. */
  done(text: string): void {
    if (this.stream.isTTY) this.stream.write(`\r${text}\x1b[K\n`);
    else this.stream.write(`${text}\n`);
    this.shown = false;
    this.lastPlain = performance.now();
  }

  /** Leaves the terminal on a fresh line if a rewritten line is showing. */
  clear(): void {
    if (this.shown && this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
