// Pure transforms between the source and the target: no I/O, no clock, no randomness.
// A record that cannot be transformed raises a RecordError and goes to the reject report.
import type { MigrationRecord } from '../records.js';

/** One record in, zero or more out (a XEP-0136 collection fans out into archived messages). */
export function transformRecord(record: MigrationRecord): MigrationRecord[] {
  return [record];
}
