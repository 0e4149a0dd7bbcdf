// What the MongooseIM writer needs from a database, and nothing more: every SQL difference between
// PostgreSQL (and PGlite) and MySQL/MariaDB lives behind this interface, in src/target/<dialect>/; the
// writer's logic (grouping, archive ids, collisions, counting, allocator state) lives once, in
// mongooseim-sql-target.ts. Capabilities are data here, never a branch on the dialect's name.
import type { SqlDatabase, SqlSession } from '../sql-database.js';
import type { Checkpoint, CheckpointKey, CheckpointUpdate } from '../target.js';
import type { InboxSql } from './inbox-rebuild.js';
import type { TableSpec } from './mongooseim-tables.js';
import type { MongooseImTable } from './schema-tables.js';

/** One staged value; its column decides how it is written (bytes for `TableSpec.binary` columns). */
export type BulkValue = string | number | bigint | boolean | Buffer | null | undefined;

export interface SchemaReport {
  /** Required tables absent from the target, in REQUIRED_COLUMNS order. */
  missingTables: string[];
  /** Required columns absent from tables that do exist. */
  missingColumns: Array<{ table: string; column: string }>;
}

export interface StoredCheckpoint extends Checkpoint {
  /** The encoder state saved with the checkpoint (JSON), restored before the stream resumes. */
  state: string | undefined;
}

/** One archive as the database summarises it for `verify`. */
export interface ArchiveAggregate {
  server: string;
  userName: string;
  count: number;
  firstId: bigint;
  lastId: bigint;
  /** md5 of the concatenated lower-case hex md5 of each stored message, in id order. */
  contentHash: string;
}

/** A staged MAM row whose (owner, id) is taken by a different message, with its id as decimal text. */
export type CollidingRow = Record<string, unknown> & { id_text: string };

export interface MongooseimDialect<S extends SqlSession = SqlSession> {
  /** The one connection the writer uses. */
  readonly db: SqlDatabase<S>;
  /** For messages: `PostgreSQL`, `PGlite`, `MySQL/MariaDB`. */
  readonly label: string;
  /** An embedded rehearsal database: MongooseIM's schema is created in it whenever it is missing. */
  readonly embedded: boolean;
  /** Where an operator gets MongooseIM's schema for this database, for messages. */
  readonly schemaSource: string;
  /** How batches reach the staging tables now (e.g. `LOAD DATA LOCAL INFILE`), for plan and the summary. */
  readonly bulkPath: string;
  /** What the operator should know about how this target is written (a slower fallback path, …). */
  readonly notices: readonly string[];

  // ---- schema
  checkSchema(tables?: readonly MongooseImTable[]): Promise<SchemaReport>;
  /** Creates MongooseIM's schema from the project's own DDL (rehearsal targets only). */
  createSchema(): Promise<void>;
  /**
   * Text columns of MongooseIM's tables, and the connection, whose character set cannot hold every
   * character (4-byte UTF-8 such as emoji would become `?`), each named; undefined when the database has
   * no such setting (PostgreSQL databases are UTF-8 or refuse to connect with our client encoding).
   */
  characterSetProblems?(): Promise<string[]>;
  tableExists(name: string): Promise<boolean>;

  // ---- the tool's own tables: checkpoints and the salt seed
  /** Creates xmpp_migrate_checkpoints and xmpp_migrate_meta when missing. */
  prepareMeta(): Promise<void>;
  /** Stores `candidate` as the target's salt seed unless one exists; returns the stored one. */
  saltSeed(candidate: string): Promise<string>;
  loadCheckpoint(key: CheckpointKey): Promise<StoredCheckpoint | undefined>;
  /** Upserts a checkpoint; inside the batch's transaction when `session` is the transaction's. */
  saveCheckpoint(session: SqlSession, update: CheckpointUpdate, state: string | null): Promise<void>;
  /** Every checkpoint, oldest update first; empty when the table does not exist. */
  listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>>;
  /** A value of xmpp_migrate_meta (the tool's own small state: pass ledgers of delta runs). */
  readMeta(key: string): Promise<string | undefined>;
  writeMeta(key: string, value: string): Promise<void>;

  // ---- one batch: staging, move, MAM collisions
  /** Outside the batch's transaction: makes the staging tables of `tables` exist and be empty. */
  prepareStaging(tables: readonly TableSpec[]): Promise<void>;
  /** Bulk-loads `rows` (values in `stagingColumns(table)` order) into the table's staging table. */
  stage(session: S, table: TableSpec, rows: BulkValue[][]): Promise<void>;
  /**
   * INSERT … SELECT of the staged rows whose key is not present yet, in batch order for `serialOrder`
   * tables; returns how many were inserted. May consume the staging table.
   */
  insertMissing(session: S, table: TableSpec): Promise<number>;
  /**
   * An archive table's rows bulk-loaded straight into the table (no staging, no INSERT … SELECT), inside a
   * savepoint: true when all went in; false when one of their keys is already present (nothing of them is
   * then written, and the caller stages them). Optional: dialects without it always stage.
   */
  loadArchiveDirect?(session: S, table: TableSpec, rows: BulkValue[][]): Promise<boolean>;
  /** Staged MAM rows whose (owner, id) holds a different message, ordered by owner and id. */
  collidingMamRows(session: S, table: TableSpec): Promise<CollidingRow[]>;
  /** Who holds `id` in the owner's archive: nobody, the same message, or another one. */
  mamIdHolder(session: S, table: TableSpec, owner: unknown, id: bigint, message: unknown): Promise<'free' | 'same' | 'other'>;
  /** Inserts one row, values in `table.columns` order (as read back from the staging table). */
  insertRow(session: S, table: TableSpec, values: unknown[]): Promise<void>;
  /**
   * Delta runs, before insertMissing: brings present rows up to the staged values as `table.refresh` says
   * (update the other columns of a present key; or delete the sets sharing `replaceSetBy` columns with a
   * staged row, which insertMissing then writes anew). Returns rows changed (updated or deleted).
   */
  refreshPresent(session: S, table: TableSpec): Promise<number>;
  /**
   * `--merge-archives`, with the batch's fingerprints staged: removes from the staged MAM rows of `table` those
   * with a fingerprint another migration stored for the same archive within `windowIds` of their id (and their
   * staged fingerprints). Returns how many rows were removed.
   */
  dropMergedMessages(session: S, table: TableSpec, tbl: 'u' | 'r', windowIds: bigint): Promise<number>;
  /** Stores the staged fingerprints (those left after dropMergedMessages); present ones are kept. */
  recordFingerprints(session: S): Promise<void>;
  /** Deletes roster_version rows of every owner staged in rosterusers (a rewritten roster has no valid version); runs before insertMissing. */
  forgetRosterVersions(session: S): Promise<void>;
  /**
   * `table.prefer`, before refreshPresent and insertMissing: a present row whose key has a staged preferred row
   * takes its values; staged rows that are not preferred leave staging where the present row is.
   */
  preferStaged(session: S, table: TableSpec): Promise<void>;
  /**
   * The `table.serialId` ids (as decimal text) of the present rows with these keys (values in `table.key`
   * order), each with its key exactly as stored; keys equal only by collation are not returned.
   */
  findSerialIds(session: S, table: TableSpec, keys: string[][]): Promise<Array<{ id: string; key: string[] }>>;

  // ---- mam_server_user: outside any batch transaction, never renumbered
  findArchiveIds(pairs: Array<[server: string, user: string]>): Promise<Array<{ id: number; server: string; user_name: string }>>;
  /** Inserts the pairs, ignoring those present (a concurrent writer); never draws ids for present ones on purpose. */
  createArchiveIds(pairs: Array<[server: string, user: string]>): Promise<void>;

  // ---- verify and plan
  /** Per-archive aggregates of a MAM table; only the archives named in `only` when given. */
  archiveAggregates(table: TableSpec, only?: Array<[server: string, user: string]>): AsyncIterable<ArchiveAggregate>;
  countRows(table: string): Promise<number>;

  // ---- post-steps
  /** The inbox rebuild's statements on this database (`--inbox`). */
  inboxSql(): InboxSql;
}
