/** What calibration measured for one model and what it chose, as `GET /v1/models/{name}` shows it under `plan`. */
export interface CalibrationReport {
  /** `measured` at this load, or `cache`: figures measured earlier for the same model file, cores and candidates. */
  source: 'measured' | 'cache';
  /** Image size of the synthetic batch (the model's input size, or a typical page for a dynamic one). */
  input: { width: number; height: number };
  cores: number;
  /** Fastest timed run of each configuration tried (after a warm-up run). */
  runs: CalibrationRun[];
  /** Each candidate instances × intraOpThreads with its estimated throughput at batch 1 (instances run side by side). */
  candidates: Array<{ instances: number; intraOpThreads: number; imagesPerSecond: number }>;
  batching: {
    /** The largest batch measured (the manifest's maxBatchSize). */
    batchSize: number;
    /**
     * Time per image at that batch ÷ time per image at batch 1, at the chosen threads, each batch
     * counted with the fixed cost it pays outside the run; null when not measured.
     */
    perImageRatio: number | null;
    /** `off`: batches are not cheaper per image, so maxBatchSize 1 and no delay. */
    decision: 'kept' | 'off' | 'not measured';
  };
  /** Wall time the measurement took at load (0 from the cache). */
  measureMs: number;
}

export interface CalibrationRun {
  intraOpThreads: number;
  batchSize: number;
  msPerBatch: number;
  msPerImage: number;
  /** Timed runs taken (the fastest is kept). */
  samples: number;
  /** `wall-minus-wait`: a single-threaded run's wall time less its thread's wait for a core (other load does not count); `wall`: elapsed time. */
  clock: 'wall-minus-wait' | 'wall';
}
