// Typed events the runner emits; only reporters turn them into output.
import type { SourceLocation } from '../records.js';

export interface KindStats {
  /** Records the source produced of this kind (rejects by the source included). */
  read: number;
  /** Main rows newly written (dry run: would be written). */
  written: number;
  /** Already in the target: a replayed or re-run record, changed nothing. */
  present: number;
  /** Delta passes: present rows brought up to the source's current values (a changed password, roster, vCard). */
  updated: number;
  /** `--merge-archives`: the same message another store's migration had already written; not written again. */
  merged: number;
  rejected: number;
  /** Not selected by --only, or no writer for this kind yet. */
  skipped: number;
  bytes: number;
}

export interface StreamSummary {
  stream: string;
  /** Where it started: 'start', 'resumed', or 'already complete'. */
  startedFrom: 'start' | 'resumed' | 'already complete';
  /** 0: the bulk pass; n: the n-th delta pass (`run --delta`). */
  pass: number;
  /** The high-water mark the pass read past; absent: it read the whole stream. */
  since?: string;
  records: number;
  batches: number;
  ms: number;
}

export type RunEvent =
  | { type: 'stream-start'; stream: string; startedFrom: StreamSummary['startedFrom']; pass: number; since?: string }
  | { type: 'batch-written'; stream: string; records: number; bytes: number; ms: number; totalRecords: number }
  | { type: 'record-rejected'; stream: string; code: string; reason: string; location?: SourceLocation }
  | { type: 'kind-skipped'; stream: string; kind: string; reason: string }
  | { type: 'retry'; stream: string; attempt: number; delayMs: number; reason: string }
  | { type: 'paused'; reason: string }
  | { type: 'resumed'; rate: number | undefined }
  | { type: 'rate-changed'; rate: number | undefined; reason: string }
  | { type: 'target-notice'; message: string }
  | { type: 'stream-end'; stream: string; summary: StreamSummary };

export type RunEventListener = (event: RunEvent) => void;

export function emptyKindStats(): KindStats {
  return { read: 0, written: 0, present: 0, updated: 0, merged: 0, rejected: 0, skipped: 0, bytes: 0 };
}
