/** What the engine reports as it works; metrics implement it. Every method is optional to call sites. */
export interface EngineObserver {
  queued(model: string, seconds: number): void;
  batch(model: string, size: number, inferSeconds: number): void;
  failure(model: string): void;
  workerRestart(model: string): void;
}
