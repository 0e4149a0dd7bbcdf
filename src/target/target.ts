// The interface between the runner and a target: encode records into rows, write batches atomically
// with their checkpoint. The runner knows nothing of tables; the target knows nothing of sources.
import type { MigrationRecord, RecordKind } from '../records.js';

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
  /** Per record kind: main rows newly written and rows that were already present. */
  written: Partial<Record<RecordKind, number>>;
  present: Partial<Record<RecordKind, number>>;
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
  write(batch: EncodedRecord[], checkpoint: CheckpointUpdate | undefined): Promise<WriteOutcome>;
  /** Saves a checkpoint alone (a stream that ended with rejects only, or an empty stream). */
  saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void>;
  /** Loads a stream's checkpoint and restores the encoder state saved with it (MAM id tie-breaks). */
  beginStream(key: CheckpointKey): Promise<Checkpoint | undefined>;
  listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>>;
  /** Archive summaries for verify, ordered by archive. */
  archiveSummaries(): AsyncIterable<ArchiveSummary>;
  /** Row counts for verify and plan. */
  inventory(): Promise<TargetInventory>;
  close(): Promise<void>;
}
