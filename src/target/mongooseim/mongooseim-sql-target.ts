// The MongooseIM writer, once for every SQL dialect: each batch is bulk-loaded into session-local staging
// tables, then moved with one INSERT … SELECT per table that skips rows already present, and the checkpoint
// row is written in the same transaction. Replaying a committed batch changes nothing. Archive rows, the bulk
// of any migration, first try the database's own bulk load straight into their table (PostgreSQL: COPY in a
// savepoint); a batch holding a present row falls back to staging. The dialect (src/target/postgres,
// src/target/mysql) supplies the SQL; this file decides what happens.
import { randomBytes } from 'node:crypto';
import { TargetError } from '../../errors.js';
import type { MigrationRecord, RecordKind } from '../../records.js';
import type { SqlSession } from '../sql-database.js';
import type {
  ArchiveSummary,
  Checkpoint,
  CheckpointKey,
  CheckpointUpdate,
  EncodedRecord,
  MigrationTarget,
  PassLedger,
  TargetInventory,
  TargetRow,
  WriteOptions,
  WriteOutcome,
} from '../target.js';
import type { BulkValue, MongooseimDialect } from './mongooseim-dialect.js';
import { FINGERPRINT_TABLE, WRITER_TABLE, WRITER_TABLES, type TableSpec } from './mongooseim-tables.js';
import { CompressionQueue } from './compression-queue.js';
import { archiveKey, MongooseimRowEncoder, SUPPORTED_KINDS } from './row-encoder.js';
import type { AllocatorState } from './mam-id-allocator.js';
import { InboxRebuilder, type InboxRebuildOptions, type InboxRebuildSummary } from './inbox-rebuild.js';
import type { TargetSettings } from './target-settings.js';

/** mam_server_user ids cached at once; beyond this the least recently used are looked up again. */
const ARCHIVE_ID_CACHE = 200_000;

/**
 * After a batch whose archive rows could not be loaded directly (some were present), this many batches stage
 * theirs: a re-read of written data pays for the failed attempt once, not on every batch.
 */
const DIRECT_RETRY_AFTER = 50;

/** How far past a taken MAM id the writer looks for a free one before giving up. */
const MAX_COLLISION_STEPS = 1_000_000;

export interface MongooseimTargetOptions {
  settings: TargetSettings;
  /** Create MongooseIM's schema when the database has none of its tables (rehearsal targets only). */
  createSchema: boolean;
  /**
   * `--merge-archives`: keep fingerprints of archived messages and skip a message another migration (another
   * store of the same deployment) already wrote within the window: each message once.
   */
  mergeArchives?: { windowMicros: bigint };
}

export class MongooseimSqlTarget<S extends SqlSession = SqlSession> implements MigrationTarget {
  readonly supportedKinds = SUPPORTED_KINDS;
  private readonly archiveIds = new Map<string, number>();
  private encoder!: MongooseimRowEncoder;
  private allocatorState: AllocatorState | undefined;
  private merge: MongooseimTargetOptions['mergeArchives'];
  private readonly compression = new CompressionQueue();
  /** Batches left that stage their archive rows before direct loading is tried again. */
  private stagedArchiveBatches = 0;
  /** The node byte of MAM ids, once: rowValues runs per message. */
  private readonly mamNode: bigint;
  /** Per checkpoint key, the last checkpoint this process saw committed and the one being written: what the target must hold. */
  private readonly savedCheckpoints = new Map<string, { committed?: CheckpointUpdate; pending?: CheckpointUpdate }>();

  private constructor(readonly dialect: MongooseimDialect<S>, readonly settings: TargetSettings) {
    this.mamNode = BigInt(settings.mamNode);
  }

  get displayName(): string {
    return this.dialect.db.displayName;
  }

  get notices(): readonly string[] {
    return this.dialect.notices;
  }

  static async open<S extends SqlSession>(dialect: MongooseimDialect<S>, options: MongooseimTargetOptions): Promise<MongooseimSqlTarget<S>> {
    const target = new MongooseimSqlTarget(dialect, options.settings);
    target.merge = options.mergeArchives;
    await target.prepareSchema(options.createSchema || dialect.embedded);
    await dialect.prepareMeta();
    const seed = await dialect.saltSeed(randomBytes(32).toString('base64'));
    target.encoder = new MongooseimRowEncoder(options.settings, Buffer.from(seed, 'base64'));
    target.encoder.fingerprints = options.mergeArchives !== undefined;
    target.encoder.deferCompression = true;
    // A replaced connection may lead to a server that lost commits it had acknowledged: stop before writing past them.
    dialect.db.onReconnect(() => target.verifySavedCheckpoints());
    return target;
  }

  private async prepareSchema(create: boolean): Promise<void> {
    const { dialect } = this;
    let check = await dialect.checkSchema();
    if (create && check.missingTables.length >= WRITER_TABLES.length) {
      await dialect.createSchema();
      check = await dialect.checkSchema();
    }
    if (check.missingTables.length > 0 || check.missingColumns.length > 0) {
      const parts = [
        ...check.missingTables.map((t) => `table ${t}`),
        ...check.missingColumns.map((c) => `column ${c.table}.${c.column}`),
      ];
      throw new TargetError('schema-incomplete', `${dialect.db.displayName} lacks MongooseIM's ${parts.join(', ')}. Load ${dialect.schemaSource} into the target first${create ? '' : ', or point --target at an empty rehearsal database with --create-schema'}.`);
    }
  }

  encode(record: MigrationRecord): EncodedRecord | Promise<EncodedRecord> {
    const encoded = this.encoder.encode(record);
    if (!(encoded instanceof Promise)) this.compression.add(encoded);
    return encoded;
  }

  async beginStream(key: CheckpointKey): Promise<Checkpoint | undefined> {
    const stored = await this.dialect.loadCheckpoint(key);
    this.allocatorState = stored?.state ? (JSON.parse(stored.state) as AllocatorState) : undefined;
    this.encoder.allocator.restore(this.allocatorState);
    if (!stored) return undefined;
    return { cursor: stored.cursor, completed: stored.completed, records: stored.records, updatedAt: stored.updatedAt };
  }

  /** The batch is complete: its messages not yet sent to the worker go now, while the previous batch is written. */
  batchComplete(): void {
    this.compression.dispatch();
  }

  async write(batch: EncodedRecord[], checkpoint: CheckpointUpdate | undefined, options: WriteOptions = {}): Promise<WriteOutcome> {
    const { dialect } = this;
    await this.compression.settle(batch);
    const byTable = new Map<TableSpec, TargetRow[]>();
    for (const encoded of batch) {
      for (const row of encoded.rows) {
        const spec = WRITER_TABLE[row.table];
        if (!spec) throw new TargetError('internal', `no table spec for ${row.table}`);
        let list = byTable.get(spec);
        if (!list) byTable.set(spec, (list = []));
        list.push(row);
      }
    }
    await this.resolveArchiveIds(byTable);
    // Rows referring to a parent's serial id get their values once the parent is written (in the transaction).
    const staged = [...byTable].map(([spec, rows]) => ({ spec, rows, values: spec.parent ? undefined : stagedValues(spec, rows.map((row, i) => this.rowValues(spec, row, i))) }));
    const state = lastAllocatorState(batch) ?? this.allocatorState;
    const outcome: WriteOutcome = { written: {}, present: {}, updated: {}, merged: {} };
    const fingerprints = this.merge && options.migration !== undefined ? this.fingerprintValues(byTable, options.migration) : [];
    // Outside the transaction: a rolled-back batch must not take the staging tables with it.
    await dialect.prepareStaging([...staged.map((s) => s.spec), ...(fingerprints.length > 0 ? [FINGERPRINT_TABLE] : [])]);
    const saved = checkpoint && this.checkpointSaving(checkpoint);
    // Archive rows go straight into their table unless this batch must merge, refresh, or follows a recent
    // batch that found its rows present (a re-read, a resumed scan): those are staged and moved.
    const tryDirect = dialect.loadArchiveDirect !== undefined && fingerprints.length === 0 && !options.refresh && this.stagedArchiveBatches === 0;
    if (this.stagedArchiveBatches > 0) this.stagedArchiveBatches--;
    await dialect.db.transaction(async (session) => {
      if (fingerprints.length > 0) await dialect.stage(session, FINGERPRINT_TABLE, fingerprints);
      // Serial ids of this batch's parent rows (privacy_list, muc_rooms), by table and key.
      const parentIds = new Map<string, string>();
      for (const { spec, rows, values } of staged) {
        if (spec.mamOwner && spec.mainOf && values && tryDirect && (await dialect.loadArchiveDirect!(session, spec, values))) {
          outcome.written[spec.mainOf] = (outcome.written[spec.mainOf] ?? 0) + rows.length;
          continue;
        }
        if (spec.mamOwner && tryDirect) this.stagedArchiveBatches = DIRECT_RETRY_AFTER;
        const presentKeys = spec.serialId ? await this.findParentIds(session, spec, rows, parentIds) : undefined;
        await dialect.stage(session, spec, values ?? stagedValues(spec, this.childValues(spec, rows, parentIds)));
        // A rewritten roster must not be reported "unchanged" to clients holding an old version.
        if (spec.name === 'rosterusers') await dialect.forgetRosterVersions(session);
        if (spec.prefer) await dialect.preferStaged(session, spec);
        const changed = options.refresh && spec.refresh ? await dialect.refreshPresent(session, spec) : 0;
        const merged = spec.mamOwner && fingerprints.length > 0 ? await dialect.dropMergedMessages(session, spec, spec.mamOwner === 'user_id' ? 'u' : 'r', this.merge!.windowMicros << 8n) : 0;
        let inserted = await dialect.insertMissing(session, spec);
        if (spec.mamOwner && inserted < rows.length - merged) inserted += await this.resolveCollisions(session, spec);
        if (presentKeys) {
          await this.findParentIds(session, spec, rows, parentIds);
          countParents(spec, rows, presentKeys, spec.refresh === 'update' ? changed : 0, outcome);
        } else if (spec.mainOf) {
          // A replaced set is deleted and inserted again: its rows count as written, not as updated.
          const updated = spec.refresh === 'update' ? changed : 0;
          outcome.written[spec.mainOf] = (outcome.written[spec.mainOf] ?? 0) + inserted;
          outcome.updated![spec.mainOf] = (outcome.updated![spec.mainOf] ?? 0) + updated;
          outcome.merged![spec.mainOf] = (outcome.merged![spec.mainOf] ?? 0) + merged;
          outcome.present[spec.mainOf] = (outcome.present[spec.mainOf] ?? 0) + rows.length - inserted - updated - merged;
        }
      }
      if (fingerprints.length > 0) await dialect.recordFingerprints(session);
      if (checkpoint) await dialect.saveCheckpoint(session, checkpoint, state ? JSON.stringify(state) : null);
    });
    if (checkpoint) this.allocatorState = state;
    if (saved) saved.committed = checkpoint;
    return outcome;
  }

  /** The staged fingerprint rows of the batch's archived messages (FINGERPRINT_TABLE columns). */
  private fingerprintValues(byTable: Map<TableSpec, TargetRow[]>, migration: string): BulkValue[][] {
    const values: BulkValue[][] = [];
    const node = this.mamNode;
    for (const [spec, tbl] of [[WRITER_TABLE.mam_message!, 'u'], [WRITER_TABLE.mam_muc_message!, 'r']] as const) {
      for (const row of byTable.get(spec) ?? []) {
        const owner = this.archiveIds.get(row.archive as string)!;
        const id = ((row.micros as bigint) << 8n) | node;
        for (const fp of (row.fingerprints as bigint[] | undefined) ?? []) values.push([tbl, owner, id, fp, migration]);
      }
    }
    return values;
  }

  async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    const saved = this.checkpointSaving(checkpoint);
    await this.dialect.saveCheckpoint(this.dialect.db, checkpoint, this.allocatorState ? JSON.stringify(this.allocatorState) : null);
    saved.committed = checkpoint;
  }

  /** Notes a checkpoint about to be written; the caller marks it committed once the database said so. */
  private checkpointSaving(checkpoint: CheckpointUpdate): { committed?: CheckpointUpdate; pending?: CheckpointUpdate } {
    const id = JSON.stringify([checkpoint.key.migration, checkpoint.key.stream, checkpoint.key.shard]);
    let saved = this.savedCheckpoints.get(id);
    if (!saved) this.savedCheckpoints.set(id, (saved = {}));
    saved.pending = checkpoint;
    return saved;
  }

  /**
   * After a reconnect: every checkpoint committed by this process must still be there (or the one whose commit
   * was in flight when the connection went: its acknowledgement may be what was lost). An older one means the
   * server lost acknowledged commits (a crash with synchronous_commit off, a failover to an asynchronous
   * standby); going on would leave a gap, so the run stops, and a new run resumes from what the target kept.
   */
  private async verifySavedCheckpoints(): Promise<void> {
    for (const { committed, pending } of this.savedCheckpoints.values()) {
      if (!committed) continue;
      const stored = await this.dialect.loadCheckpoint(committed.key);
      const holds = (c: CheckpointUpdate | undefined): boolean => c !== undefined && stored !== undefined && stored.cursor === c.cursor && stored.completed === c.completed;
      if (holds(committed) || holds(pending)) continue;
      throw new TargetError(
        'target-lost-commits',
        `after reconnecting to ${this.displayName}, the checkpoint of stream ${committed.key.stream} is behind what this run committed (${stored ? `${stored.records} records instead of ${committed.records}` : 'it is gone'}): the server lost transactions it had acknowledged (a crash with synchronous_commit off, or a failover to an asynchronous standby). This run stops; run it again to resume from the checkpoint the target kept, and nothing will be missing.`,
        { retryable: false },
      );
    }
  }

  listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    return this.dialect.listCheckpoints();
  }

  /** `--inbox`: MongooseIM's inbox from the personal archives and offline messages now in the target. */
  rebuildInbox(options: InboxRebuildOptions): Promise<InboxRebuildSummary> {
    return new InboxRebuilder(this.dialect.inboxSql(), this.dialect, this.settings.pmJidFormat).rebuild(options);
  }

  async loadPassLedger(key: CheckpointKey): Promise<PassLedger | undefined> {
    const stored = await this.dialect.readMeta(passLedgerKey(key));
    return stored === undefined ? undefined : (JSON.parse(stored) as PassLedger);
  }

  async savePassLedger(key: CheckpointKey, ledger: PassLedger): Promise<void> {
    await this.dialect.writeMeta(passLedgerKey(key), JSON.stringify(ledger));
  }

  private rowValues(spec: TableSpec, row: TargetRow, position: number): BulkValue[] {
    if (spec.serialOrder) return [...spec.columns.map((c) => row[c] as BulkValue), position];
    if (!spec.mamOwner) return spec.columns.map((c) => row[c] as BulkValue);
    // Per message: no copy of the row object, just its values in column order.
    const id = ((row.micros as bigint) << 8n) | this.mamNode;
    const owner = this.archiveIds.get(row.archive as string)!;
    const sender = spec.mamOwner === 'room_id' ? this.archiveIds.get(row.sender as string)! : undefined;
    const columns = spec.columns;
    const values = new Array<BulkValue>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      values[i] = c === 'id' ? id : c === spec.mamOwner ? owner : c === 'sender_id' ? sender : (row[c] as BulkValue);
    }
    return values;
  }

  /**
   * A staged MAM row whose id is taken by a different message (foreign rows, or a source that did not
   * deliver an archive contiguously) moves to the next free µs; one whose id holds the same message is
   * already present. Nothing is lost, nothing doubled. Returns rows inserted.
   */
  private async resolveCollisions(session: S, spec: TableSpec): Promise<number> {
    const owner = spec.mamOwner!;
    const node = this.mamNode;
    let inserted = 0;
    for (const row of await this.dialect.collidingMamRows(session, spec)) {
      let micros = BigInt(row.id_text) >> 8n;
      for (let step = 1; ; step++) {
        if (step > MAX_COLLISION_STEPS) throw new TargetError('mam-id-exhausted', `no free MAM id near ${row.id_text} in ${spec.name} ${owner}=${String(row[owner])}`);
        micros += 1n;
        const id = (micros << 8n) | node;
        const holder = await this.dialect.mamIdHolder(session, spec, row[owner], id, row.message);
        if (holder === 'same') break;
        if (holder === 'other') continue;
        await this.dialect.insertRow(session, spec, spec.columns.map((c) => (c === 'id' ? id : row[c])));
        inserted++;
        break;
      }
    }
    return inserted;
  }

  /**
   * Looks up the `serialId` of the rows' keys not known yet and records them in `ids`; returns the keys found.
   * Before insertMissing: the keys already present. After it: the rest, just inserted.
   */
  private async findParentIds(session: S, spec: TableSpec, rows: TargetRow[], ids: Map<string, string>): Promise<Set<string>> {
    const keys = new Map<string, string[]>();
    for (const row of rows) {
      const key = spec.key.map((k) => String(row[k]));
      const text = parentKeyText(spec.name, key);
      if (!ids.has(text)) keys.set(text, key);
    }
    const found = new Set<string>();
    if (keys.size === 0) return found;
    for (const { id, key } of await this.dialect.findSerialIds(session, spec, [...keys.values()])) {
      const text = parentKeyText(spec.name, key);
      ids.set(text, id);
      found.add(text);
    }
    return found;
  }

  /** A child table's values, its `parent.column` taken from the parent row written earlier in this batch. */
  private childValues(spec: TableSpec, rows: TargetRow[], ids: Map<string, string>): BulkValue[][] {
    const { table, column, via } = spec.parent!;
    return rows.map((row) => {
      const id = ids.get(parentKeyText(table, row[via] as string[]));
      if (id === undefined) throw new TargetError('internal', `${spec.name} row refers to a ${table} row (${(row[via] as string[]).join(', ')}) that this batch did not write`);
      return spec.columns.map((c) => (c === column ? id : (row[c] as BulkValue)));
    });
  }

  /** mam_server_user rows are created outside the batch transaction: ids are never renumbered or reused. */
  private async resolveArchiveIds(byTable: Map<TableSpec, TargetRow[]>): Promise<void> {
    const wanted = new Set<string>();
    for (const row of byTable.get(WRITER_TABLE.mam_message!) ?? []) wanted.add(row.archive as string);
    for (const row of byTable.get(WRITER_TABLE.mam_muc_message!) ?? []) {
      wanted.add(row.archive as string);
      wanted.add(row.sender as string);
    }
    const missing = [...wanted].filter((k) => !this.archiveIds.has(k));
    if (missing.length === 0) return;
    if (this.archiveIds.size + missing.length > ARCHIVE_ID_CACHE) this.archiveIds.clear();
    const pairs = (keys: string[]): Array<[string, string]> => keys.map((k) => k.split('\u0000') as [string, string]);
    const lookup = async (keys: string[]): Promise<void> => {
      for (const row of await this.dialect.findArchiveIds(pairs(keys))) this.archiveIds.set(archiveKey(row.server, row.user_name), Number(row.id));
    };
    // Look up first and insert only what is new: an ignored conflicting insert still draws an id it then discards.
    await lookup(missing);
    const absent = missing.filter((k) => !this.archiveIds.has(k));
    if (absent.length > 0) {
      await this.dialect.createArchiveIds(pairs(absent));
      await lookup(absent);
    }
    for (const key of missing) {
      if (!this.archiveIds.has(key)) throw new TargetError('mam-server-user', `could not create mam_server_user for ${key.replace('\u0000', '/')}`);
    }
  }

  async *archiveSummaries(only?: readonly string[]): AsyncIterable<ArchiveSummary> {
    const pairs = only?.map((archive) => {
      const slash = archive.indexOf('/');
      return [archive.slice(0, slash), archive.slice(slash + 1)] as [string, string];
    });
    for (const spec of [WRITER_TABLE.mam_message!, WRITER_TABLE.mam_muc_message!]) {
      for await (const a of this.dialect.archiveAggregates(spec, pairs)) {
        yield {
          archive: `${a.server}/${a.userName}`,
          type: spec.mamOwner === 'user_id' ? 'user' : 'room',
          count: a.count,
          firstMicros: a.firstId >> 8n,
          lastMicros: a.lastId >> 8n,
          contentHash: a.contentHash,
        };
      }
    }
  }

  async inventory(): Promise<TargetInventory> {
    const tables: Record<string, number> = {};
    for (const spec of WRITER_TABLES) tables[spec.name] = await this.dialect.countRows(spec.name);
    return { tables };
  }

  async close(): Promise<void> {
    await this.compression.close();
    await this.dialect.db.close();
  }
}

/**
 * The rows to stage: one per key, the first of the batch winning (two vCards of one user, an offline
 * message exported twice) unless a later one is `TableSpec.prefer`red. MAM rows are unique per archive by construction and go through as they are.
 */
function stagedValues(spec: TableSpec, values: BulkValue[][]): BulkValue[][] {
  if (spec.mamOwner) return values;
  const keyIndexes = spec.key.map((k) => spec.columns.indexOf(k));
  const prefer = spec.prefer && { index: spec.columns.indexOf(spec.prefer.column), value: spec.prefer.value };
  const at = new Map<string, number>();
  const out: BulkValue[][] = [];
  for (const row of values) {
    const key = keyIndexes.map((i) => keyText(row[i])).join('\u0000');
    const i = at.get(key);
    if (i === undefined) {
      at.set(key, out.length);
      out.push(row);
    } else if (prefer && row[prefer.index] === prefer.value && out[i]![prefer.index] !== prefer.value) {
      out[i] = row; // `TableSpec.prefer`: the preferred row wins wherever it is in the batch
    }
  }
  return out;
}

const parentKeyText = (table: string, key: readonly string[]): string => `${table}\u0001${key.join('\u0000')}`;

/**
 * Written / present counts of a `serialId` table, per row: its kind is the row's `mainKind` (lists and
 * blocklists share privacy_list) or the table's `mainOf`; a key present before the insert, or repeated in
 * the batch, is present. Rows a delta run updated count as updated.
 */
function countParents(spec: TableSpec, rows: TargetRow[], presentKeys: Set<string>, updated: number, outcome: WriteOutcome): void {
  const seen = new Set<string>();
  const add = (counts: Partial<Record<RecordKind, number>>, kind: RecordKind, n: number): void => void (counts[kind] = (counts[kind] ?? 0) + n);
  for (const row of rows) {
    const kind = (row.mainKind as RecordKind | undefined) ?? spec.mainOf;
    if (!kind) continue;
    const text = parentKeyText(spec.name, spec.key.map((k) => String(row[k])));
    const present = presentKeys.has(text) || seen.has(text);
    add(outcome.written, kind, present ? 0 : 1);
    add(outcome.present, kind, present ? 1 : 0);
    seen.add(text);
  }
  if (spec.mainOf && updated > 0) {
    add(outcome.updated!, spec.mainOf, updated);
    add(outcome.present, spec.mainOf, -updated);
  }
}

function keyText(value: BulkValue): string {
  if (value === null || value === undefined) return '\u0001';
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
}

function passLedgerKey(key: CheckpointKey): string {
  return `passes/${key.migration}/${key.stream}/${key.shard}`;
}

/** The allocator state after a batch: the last MAM row written (archives arrive contiguously). */
function lastAllocatorState(batch: EncodedRecord[]): AllocatorState | undefined {
  for (let i = batch.length - 1; i >= 0; i--) {
    const row = batch[i]!.rows[0];
    if (row && (row.table === 'mam_message' || row.table === 'mam_muc_message')) {
      return { archive: row.archive as string, micros: (row.micros as bigint).toString() };
    }
  }
  return undefined;
}
