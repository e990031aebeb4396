/** What the job and evaluation runners share about the rows they run under a lease. */

/** Calls `renew` every third of `leaseMs`, so a lease is renewed twice before it could run out; the timer does not hold the process open. */
export function renewEvery(leaseMs: number, renew: () => void): NodeJS.Timeout {
  const timer = setInterval(renew, Math.max(1, Math.floor(leaseMs / 3)));
  timer.unref();
  return timer;
}

/** How a runner deletes a row it may hold. */
export interface HeldDeletion {
  /** Deletes the row from the store; false when there was none. */
  remove(id: string): Promise<boolean>;
  /** Takes it out of this replica (queue, run, lease), by its canonical id. */
  drop(id: string): void;
  /** Announces the deletion, by its canonical id. */
  deleted(id: string): void;
}

/** Deletes the row `id` names; one queued or running here is dropped first, so nothing about it follows the announcement. */
export async function deleteHeld(id: string, deletion: HeldDeletion): Promise<boolean> {
  if (!(await deletion.remove(id))) return false;
  const canonical = id.toLowerCase();
  deletion.drop(canonical);
  deletion.deleted(canonical);
  return true;
}
