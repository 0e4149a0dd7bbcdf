// Batch bounds and retry policy, in one place.

export interface BatchLimits {
  /** Records per batch. Larger batches amortise the transaction; smaller ones lose less on a kill. */
  rows: number;
  /** Encoded bytes per batch: keeps memory flat when messages are large. */
  bytes: number;
}

export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = { rows: 5000, bytes: 16 * 1024 * 1024 };

/** Connection failures are retried this many times with exponential backoff before the stream fails. */
export const TARGET_RETRIES = 5;
export const RETRY_BASE_MS = 500;
