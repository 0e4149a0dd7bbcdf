// The one interface every source adapter implements. Adapters import records, JID, XML and errors:
// never the target, the runner or the CLI (a test enforces it).
import type { RecordError } from '../errors.js';
import type { MigrationRecord, RecordKind } from '../records.js';

/** One step of a source stream: a record or a reject, and the cursor that resumes right after it. */
export type SourceItem =
  | { record: MigrationRecord; cursor: string }
  | { reject: RecordError; cursor: string; excerpt?: string };

export interface SourceCapabilities {
  /** 'seek': a cursor restarts the read in place (SQL keysets). 'skip': the source is re-read up to it. */
  resume: 'seek' | 'skip';
  /**
   * How `run --delta` finds what changed since the last pass. 'exact': append-only streams (archives) have
   * high-water marks and are read past them; the other streams are re-read whole (small, and changes in
   * them cannot be told apart otherwise). 'scan': every stream is re-read whole and what is already in the
   * target is skipped or brought up to date. 'none': the source is a snapshot (an export file): a delta
   * needs a fresh export, which is then scanned like 'scan'.
   */
  delta: 'exact' | 'scan' | 'none';
  /** The record kinds this source can emit. */
  kinds: RecordKind[];
}

export interface StreamInfo {
  /** Stable name, part of checkpoint keys: never rename one. */
  name: string;
  /** The record kinds this stream emits, in any order. */
  kinds: RecordKind[];
}

export interface NotProvided {
  kind: RecordKind | string;
  reason: string;
  /** What the operator can do instead. */
  advice?: string;
}

export interface SourceInventory {
  /** Version and schema variant detected, e.g. "XEP-0227 v1.1 (urn:xmpp:pie:0), 2 files". */
  description: string;
  /** Records per kind. */
  counts: Partial<Record<RecordKind, number>>;
  /** Distinct owners per kind (users with a roster, archives, …). */
  owners: Partial<Record<RecordKind, number>>;
  /** Accounts per credential shape, e.g. { plain: 3, 'scram-sha1': 2, 'scram-sha1+sha256': 1, none: 0 }. */
  credentials: Record<string, number>;
  /** Records the inventory already knows will be rejected, by reason. */
  rejects: Record<string, number>;
  /** Bytes of stanza XML in archives, for estimates. */
  archiveBytes?: number;
  /** Earliest and latest archive timestamps (µs), when known. */
  archiveSpan?: { first: bigint; last: bigint };
  cannotProvide: NotProvided[];
  notes: string[];
}

export interface SourceAdapter {
  /** Safe to print: never contains a password. */
  readonly displayName: string;
  readonly capabilities: SourceCapabilities;
  /** The streams in the order they should be migrated (accounts before what refers to them). */
  streams(): StreamInfo[];
  inventory(): Promise<SourceInventory>;
  /**
   * `plan --quick`: counts without reading every record (a byte scan of an export), for sources whose full
   * inventory is a full read. Estimates: rejects are not known.
   */
  quickInventory?(): Promise<SourceInventory>;
  /**
   * Reads one stream in a stable order, strictly after `after` (a cursor this stream produced).
   * Archived messages of one archive come together and in archive order.
   */
  read(stream: string, after?: string, since?: string): AsyncIterable<SourceItem>;
  /**
   * The high-water mark of an append-only stream right now (e.g. its largest row id), taken before a pass
   * reads it; `read(stream, after, mark)` then yields only records appended after the mark, in the same order
   * and with the same cursors. Undefined (or no method): the stream has no mark and a delta re-reads it.
   */
  highWater?(stream: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface SourceOptions {
  /** Adapter-specific settings from `--source-option key=value` (domain for single-host schemas, …). */
  settings: Record<string, string>;
}

export interface SourceAdapterDefinition {
  /** URL schemes this adapter answers to, e.g. ['xep0227']. */
  schemes: string[];
  /** One line for `--help`. */
  summary: string;
  /** An example `--source` value. */
  example: string;
  open(location: string, options: SourceOptions): Promise<SourceAdapter>;
}
