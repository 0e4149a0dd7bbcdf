// The MongooseIM writer, once for every SQL dialect: each batch is bulk-loaded into session-local staging
// tables, then moved with one INSERT … SELECT per table that skips rows already present, and the checkpoint
// row is written in the same transaction. Replaying a committed batch changes nothing. The dialect
// (src/target/postgres, src/target/mysql) supplies the SQL; this file decides what happens.
import { randomBytes } from 'node:crypto';
import { TargetError } from '../../errors.js';
import type { MigrationRecord } from '../../records.js';
import type { SqlSession } from '../sql-database.js';
import type {
  ArchiveSummary,
  Checkpoint,
  CheckpointKey,
  CheckpointUpdate,
  EncodedRecord,
  MigrationTarget,
  TargetInventory,
  TargetRow,
  WriteOutcome,
} from '../target.js';
import type { BulkValue, MongooseimDialect } from './mongooseim-dialect.js';
import { WRITER_TABLE, WRITER_TABLES, type TableSpec } from './mongooseim-tables.js';
import { archiveKey, MongooseimRowEncoder, SUPPORTED_KINDS } from './row-encoder.js';
import type { AllocatorState } from './mam-id-allocator.js';
import type { TargetSettings } from './target-settings.js';

/** mam_server_user ids cached at once; beyond this the least recently used are looked up again. */
const ARCHIVE_ID_CACHE = 200_000;

/** How far past a taken MAM id the writer looks for a free one before giving up. */
const MAX_COLLISION_STEPS = 1_000_000;

export interface MongooseimTargetOptions {
  settings: TargetSettings;
  /** Create MongooseIM's schema when the database has none of its tables (rehearsal targets only). */
  createSchema: boolean;
}

export class MongooseimSqlTarget<S extends SqlSession = SqlSession> implements MigrationTarget {
  readonly supportedKinds = SUPPORTED_KINDS;
  private readonly archiveIds = new Map<string, number>();
  private encoder!: MongooseimRowEncoder;
  private allocatorState: AllocatorState | undefined;

  private constructor(readonly dialect: MongooseimDialect<S>, readonly settings: TargetSettings) {}

  get displayName(): string {
    return this.dialect.db.displayName;
  }

  get notices(): readonly string[] {
    return this.dialect.notices;
  }

  static async open<S extends SqlSession>(dialect: MongooseimDialect<S>, options: MongooseimTargetOptions): Promise<MongooseimSqlTarget<S>> {
    const target = new MongooseimSqlTarget(dialect, options.settings);
    await target.prepareSchema(options.createSchema || dialect.embedded);
    await dialect.prepareMeta();
    const seed = await dialect.saltSeed(randomBytes(32).toString('base64'));
    target.encoder = new MongooseimRowEncoder(options.settings, Buffer.from(seed, 'base64'));
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
    return this.encoder.encode(record);
  }

  async beginStream(key: CheckpointKey): Promise<Checkpoint | undefined> {
    const stored = await this.dialect.loadCheckpoint(key);
    this.allocatorState = stored?.state ? (JSON.parse(stored.state) as AllocatorState) : undefined;
    this.encoder.allocator.restore(this.allocatorState);
    if (!stored) return undefined;
    return { cursor: stored.cursor, completed: stored.completed, records: stored.records, updatedAt: stored.updatedAt };
  }

  async write(batch: EncodedRecord[], checkpoint: CheckpointUpdate | undefined): Promise<WriteOutcome> {
    const { dialect } = this;
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
    const staged = [...byTable].map(([spec, rows]) => ({ spec, rows, values: stagedValues(spec, rows.map((row, i) => this.rowValues(spec, row, i))) }));
    const state = lastAllocatorState(batch) ?? this.allocatorState;
    const outcome: WriteOutcome = { written: {}, present: {} };
    // Outside the transaction: a rolled-back batch must not take the staging tables with it.
    await dialect.prepareStaging(staged.map((s) => s.spec));
    await dialect.db.transaction(async (session) => {
      for (const { spec, rows, values } of staged) {
        await dialect.stage(session, spec, values);
        // A rewritten roster must not be reported "unchanged" to clients holding an old version.
        if (spec.name === 'rosterusers') await dialect.forgetRosterVersions(session);
        let inserted = await dialect.insertMissing(session, spec);
        if (spec.mamOwner && inserted < rows.length) inserted += await this.resolveCollisions(session, spec);
        if (spec.mainOf) {
          outcome.written[spec.mainOf] = (outcome.written[spec.mainOf] ?? 0) + inserted;
          outcome.present[spec.mainOf] = (outcome.present[spec.mainOf] ?? 0) + rows.length - inserted;
        }
      }
      if (checkpoint) await dialect.saveCheckpoint(session, checkpoint, state ? JSON.stringify(state) : null);
    });
    if (checkpoint) this.allocatorState = state;
    return outcome;
  }

  async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    await this.dialect.saveCheckpoint(this.dialect.db, checkpoint, this.allocatorState ? JSON.stringify(this.allocatorState) : null);
  }

  listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    return this.dialect.listCheckpoints();
  }

  private rowValues(spec: TableSpec, row: TargetRow, position: number): BulkValue[] {
    if (spec.serialOrder) return [...spec.columns.map((c) => row[c] as BulkValue), position];
    if (!spec.mamOwner) return spec.columns.map((c) => row[c] as BulkValue);
    const values: Record<string, unknown> = { ...row, id: ((row.micros as bigint) << 8n) | BigInt(this.settings.mamNode) };
    values[spec.mamOwner] = this.archiveIds.get(row.archive as string)!;
    if (spec.mamOwner === 'room_id') values.sender_id = this.archiveIds.get(row.sender as string)!;
    return spec.columns.map((c) => values[c] as BulkValue);
  }

  /**
   * A staged MAM row whose id is taken by a different message (foreign rows, or a source that did not
   * deliver an archive contiguously) moves to the next free µs; one whose id holds the same message is
   * already present. Nothing is lost, nothing doubled. Returns rows inserted.
   */
  private async resolveCollisions(session: S, spec: TableSpec): Promise<number> {
    const owner = spec.mamOwner!;
    const node = BigInt(this.settings.mamNode);
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

  async *archiveSummaries(): AsyncIterable<ArchiveSummary> {
    for (const spec of [WRITER_TABLE.mam_message!, WRITER_TABLE.mam_muc_message!]) {
      for await (const a of this.dialect.archiveAggregates(spec)) {
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
    await this.dialect.db.close();
  }
}

/**
 * The rows to stage: one per key, the first of the batch winning (two vCards of one user, an offline
 * message exported twice). MAM rows are unique per archive by construction and go through as they are.
 */
function stagedValues(spec: TableSpec, values: BulkValue[][]): BulkValue[][] {
  if (spec.mamOwner) return values;
  const keyIndexes = spec.key.map((k) => spec.columns.indexOf(k));
  const seen = new Set<string>();
  return values.filter((row) => {
    const key = keyIndexes.map((i) => keyText(row[i])).join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function keyText(value: BulkValue): string {
  if (value === null || value === undefined) return '\u0001';
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
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
