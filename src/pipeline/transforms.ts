// Pure transforms between the source and the target: no I/O, no clock, no randomness.
// A record that cannot be transformed at all raises a RecordError and goes to the reject report; a record
// that is partly bad (one entry of a XEP-0136 collection) yields its good parts plus per-part rejects.
import type { RecordError } from '../errors.js';
import { renameRecordDomains, type DomainMapping } from '../mappings/domain-mapping.js';
import type { MigrationRecord, RecordKind } from '../records.js';
import { xep0136ToMam } from './xep0136-to-mam.js';

/** Parts of a source record deliberately not migrated, for the run summary (counted as skipped). */
export interface SkippedParts {
  kind: RecordKind;
  count: number;
  reason: string;
}

export interface TransformOutcome {
  records: MigrationRecord[];
  /** Parts that cannot be migrated, each with its own location; the rest of the record goes on. */
  rejects: RecordError[];
  skipped: SkippedParts[];
}

export const NOTES_SKIPPED_REASON =
  'XEP-0136 <note> entries are not migrated (MAM has no notes); the source option notes=self-message keeps each as a message to self';

/** What the operator asked the transforms to do; the same for every record of a run (and its `verify`). */
export interface TransformOptions {
  /** `--mapping FILE`: domain renames, applied first, so everything after sees only the new domains. */
  domains?: DomainMapping;
}

/** One record in, zero or more out, with what was rejected or skipped on the way. */
export function transform(input: MigrationRecord, options: TransformOptions = {}): TransformOutcome {
  const record = options.domains ? renameRecordDomains(input, options.domains) : input;
  if (record.kind === 'legacy-collection') {
    // A XEP-0136 collection (or a time-ordered slice of one) fans out into archived messages.
    const { messages, notes, rejects } = xep0136ToMam(record);
    return { records: messages, rejects, skipped: notes > 0 ? [{ kind: record.kind, count: notes, reason: NOTES_SKIPPED_REASON }] : [] };
  }
  return { records: [record], rejects: [], skipped: [] };
}

/** The records `transform` passes on (its rejects and skips dropped): what `verify` expects in the target. */
export function transformRecord(record: MigrationRecord, options: TransformOptions = {}): MigrationRecord[] {
  return transform(record, options).records;
}
