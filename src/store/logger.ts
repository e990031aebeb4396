/**
 * The logging the store needs. Shaped so a pino logger can be passed as is;
 * the store logs rarely (migrations, recovery, anomalies), never per query.
 */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const ignore = (): void => {};

export const silentLogger: StoreLogger = { info: ignore, warn: ignore, error: ignore };
