// The interface between the runner and a target: encode records into rows, write batches atomically
// with their checkpoint. The runner knows nothing of tables; the target knows nothing of sources.
import type { MigrationRecord, RecordKind } from '../records.js';
import type { InboxRebuildOptions, InboxRebuildSummary } from './mongooseim/inbox-rebuild.js';

/** A row destined for one MongooseIM table, already encoded (dialect-independent). */
export type TargetRow = { table: string } & Record<string, unknown>;

export interface EncodedRecord {
  kind: RecordKind;
  /** Rows to write; the first is the record's main row (its fate decides written / already present). */
  rows: TargetRow[];
  /** Approximate bytes, for batch bounds and the summary. */
  bytes: number;
  /** Set when the target deliberately writes nothing for this record (a target setting excludes it). */
  skipReason?: string;
}

export interface CheckpointKey {
  /** Identifies the migration: the source and the kinds selected. */
  migration: string;
  stream: string;
  /** `k/n` for sharded runs, `all` otherwise. */
  shard: string;
}

export interface Checkpoint {
  cursor: string | undefined;
  completed: boolean;
  records: number;
  updatedAt?: string;
}

export interface CheckpointUpdate {
  key: CheckpointKey;
  /** Resume strictly after this cursor. */
  cursor: string;
  completed: boolean;
  /** Records handled so far in this stream (read, including rejects). */
  records: number;
}

export interface WriteOutcome {
  /** Per record kind: main rows newly written, rows already present as they are, present rows brought up to date. */
  written: Partial<Record<RecordKind, number>>;
  present: Partial<Record<RecordKind, number>>;
  updated?: Partial<Record<RecordKind, number>>;
  /** `--merge-archives`: messages another migration had already written (the same message from another store). */
  merged?: Partial<Record<RecordKind, number>>;
}

export interface WriteOptions {
  /**
   * A delta pass: rows already present are brought up to the source's current values (a changed password,
   * subscription, roster groups, vCard) instead of being kept. Archives are append-only either way.
   */
  refresh?: boolean;
  /** The checkpoint identity of the migration writing (fingerprints of `--merge-archives` name it). */
  migration?: string;
}

/** One pass over a stream: the bulk pass, then one per `run --delta`. */
export interface StreamPass {
  /** The high-water mark this pass reads past (the previous pass's mark); absent: the whole stream. */
  since?: string;
  /** The stream's high-water mark taken before this pass read anything; the next pass reads past it. */
  mark?: string;
  startedAt: string;
}

export interface PassLedger {
  passes: StreamPass[];
}

/** A data problem the database refused (bad byte sequence, too long, constraint): bisect, then reject. */
export class TargetDataError extends Error {
  override name = 'TargetDataError';
  constructor(message: string, readonly sqlState: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ArchiveSummary {
  /** `server/user_name` of mam_server_user, e.g. `example.com/alice` or `conference.example.com/room1`. */
  archive: string;
  type: 'user' | 'room';
  count: number;
  firstMicros: bigint;
  lastMicros: bigint;
  /** md5 of the concatenated lower-case hex md5 of each stored message, in id order. */
  contentHash: string;
}

export interface TargetInventory {
  /** Rows per table in the target right now. */
  tables: Record<string, number>;
}

export interface MigrationTarget {
  /** Safe to print: never contains a password. */
  readonly displayName: string;
  /** What the operator should know about how this target is written (a slower fallback path, …); may grow during a run. */
  readonly notices?: readonly string[];
  /** Record kinds this target can write; others are counted as skipped, never dropped silently. */
  readonly supportedKinds: ReadonlySet<RecordKind>;
  /** Encodes one record into rows; throws RecordError for a record that cannot be migrated. */
  encode(record: MigrationRecord): EncodedRecord | Promise<EncodedRecord>;
  /** Writes a batch and its checkpoint in one transaction. Throws TargetDataError on a data problem. */
  /**
   * `checkpoint` undefined: write the rows and leave the checkpoint where it is (part of one source record's
   * output, when a refused batch is split inside it; replaying that record later finds these rows present).
   */
  write(batch: EncodedRecord[], checkpoint: CheckpointUpdate | undefined, options?: WriteOptions): Promise<WriteOutcome>;
  /**
   * Called once a batch is complete, before it waits for the previous batch's write: the target may start
   * the work it holds back for the batch's last records (compression in a worker) so that it overlaps that
   * write. `write` gives the same rows whether or not this was called.
   */
  batchComplete?(): void;
  /** Saves a checkpoint alone (a stream that ended with rejects only, or an empty stream). */
  saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void>;
  /** Loads a stream's checkpoint and restores the encoder state saved with it (MAM id tie-breaks). */
  beginStream(key: CheckpointKey): Promise<Checkpoint | undefined>;
  listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>>;
  /** The passes made over one stream of a migration (`key.stream` is the stream's own name). */
  loadPassLedger(key: CheckpointKey): Promise<PassLedger | undefined>;
  savePassLedger(key: CheckpointKey, ledger: PassLedger): Promise<void>;
  /** Archive summaries for verify, ordered by archive; only those named (`server/user`) when `only` is given. */
  archiveSummaries(only?: readonly string[]): AsyncIterable<ArchiveSummary>;
  /** Row counts for verify and plan. */
  inventory(): Promise<TargetInventory>;
  /**
   * `--inbox`, a post-step once every stream is complete: fills MongooseIM's inbox from what the target holds
   * (src/target/mongooseim/inbox-rebuild.ts). Absent on targets that write nothing (dry runs).
   */
  rebuildInbox?(options: InboxRebuildOptions): Promise<InboxRebuildSummary>;
  close(): Promise<void>;
}
