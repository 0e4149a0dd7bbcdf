// The MongooseIM target on PostgreSQL and PGlite: each batch is COPYed into session-local staging
// tables, then moved with one INSERT … SELECT per table that skips rows already present, and the
// checkpoint row is written in the same transaction. Replaying a committed batch changes nothing.
import { randomBytes } from 'node:crypto';
import { TargetError } from '../../errors.js';
import type { RecordKind, MigrationRecord } from '../../records.js';
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
import { copyRows, type CopyValue } from '../postgres/copy-text.js';
import type { PgSession, PostgresDatabase } from '../postgres/postgres-database.js';
import { checkPgSchema, MONGOOSEIM_PG_DDL } from './schema-pg.js';
import { archiveKey, MongooseimRowEncoder, SUPPORTED_KINDS } from './row-encoder.js';
import type { AllocatorState } from './mam-id-allocator.js';
import type { TargetSettings } from './target-settings.js';

interface TableSpec {
  columns: string[];
  /** Columns identifying a row: a row whose key is present is "already present". */
  key: string[];
  /** SELECT expressions that differ from the plain column. */
  select?: Record<string, string>;
  /** The record kind whose main row lives here. */
  mainOf?: RecordKind;
}

/** Write order matters only for readability of partial states; one transaction covers them all. */
const TABLES: Record<string, TableSpec> = {
  users: { columns: ['username', 'server', 'password', 'pass_details', 'created_at'], key: ['server', 'username'], select: { created_at: 'COALESCE(s.created_at, now())' }, mainOf: 'account' },
  rosterusers: { columns: ['server', 'username', 'jid', 'nick', 'subscription', 'ask', 'askmessage'], key: ['server', 'username', 'jid'], mainOf: 'roster-item' },
  rostergroups: { columns: ['server', 'username', 'jid', 'grp'], key: ['server', 'username', 'jid', 'grp'] },
  vcard: { columns: ['username', 'server', 'vcard'], key: ['server', 'username'], mainOf: 'vcard' },
  vcard_search: {
    columns: ['username', 'lusername', 'server', 'fn', 'lfn', 'family', 'lfamily', 'given', 'lgiven', 'middle', 'lmiddle', 'nickname', 'lnickname', 'bday', 'lbday', 'ctry', 'lctry', 'locality', 'llocality', 'email', 'lemail', 'orgname', 'lorgname', 'orgunit', 'lorgunit'],
    key: ['server', 'lusername'],
  },
  private_storage: { columns: ['server', 'username', 'namespace', 'data'], key: ['server', 'username', 'namespace'], mainOf: 'private-xml' },
  offline_message: { columns: ['timestamp', 'expire', 'server', 'username', 'from_jid', 'packet', 'permanent_fields'], key: ['server', 'username', 'timestamp', 'from_jid', 'packet'], mainOf: 'offline-message' },
  mam_message: { columns: ['id', 'user_id', 'from_jid', 'remote_bare_jid', 'remote_resource', 'direction', 'message', 'search_body', 'origin_id', 'is_groupchat'], key: ['user_id', 'id'], mainOf: 'archived-message' },
  mam_muc_message: { columns: ['id', 'room_id', 'sender_id', 'nick_name', 'message', 'search_body', 'origin_id'], key: ['room_id', 'id'], mainOf: 'archived-message' },
};

const META_DDL = [
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_checkpoints (
     migration text NOT NULL, stream text NOT NULL, shard text NOT NULL,
     cursor text, state text, records bigint NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration, stream, shard))`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`,
];

/** mam_server_user ids cached at once; beyond this the least recently used are looked up again. */
const ARCHIVE_ID_CACHE = 200_000;

export interface PostgresTargetOptions {
  settings: TargetSettings;
  /** Create MongooseIM's schema when the database has none of its tables (rehearsal targets only). */
  createSchema: boolean;
}

export class PostgresMongooseimTarget implements MigrationTarget {
  readonly supportedKinds = SUPPORTED_KINDS;
  private readonly archiveIds = new Map<string, number>();
  private stagingReady = false;
  private encoder!: MongooseimRowEncoder;
  private allocatorState: AllocatorState | undefined;

  private constructor(readonly db: PostgresDatabase, readonly settings: TargetSettings) {}

  get displayName(): string {
    return this.db.displayName;
  }

  static async open(db: PostgresDatabase, options: PostgresTargetOptions): Promise<PostgresMongooseimTarget> {
    const target = new PostgresMongooseimTarget(db, options.settings);
    await target.prepareSchema(options.createSchema);
    for (const statement of META_DDL) await db.query(statement);
    target.encoder = new MongooseimRowEncoder(options.settings, await target.saltSeed());
    return target;
  }

  private async prepareSchema(create: boolean): Promise<void> {
    let check = await checkPgSchema(this.db);
    const required = Object.keys(TABLES).length;
    if (create && check.missingTables.length >= required) {
      for (const statement of MONGOOSEIM_PG_DDL) await this.db.query(statement);
      check = await checkPgSchema(this.db);
    }
    if (check.missingTables.length > 0 || check.missingColumns.length > 0) {
      const parts = [
        ...check.missingTables.map((t) => `table ${t}`),
        ...check.missingColumns.map((c) => `column ${c.table}.${c.column}`),
      ];
      throw new TargetError('schema-incomplete', `${this.db.displayName} lacks MongooseIM's ${parts.join(', ')}. Load MongooseIM 6.x's priv/pg.sql (and its migrations) into the target first${create ? '' : ', or point --target at an empty rehearsal database with --create-schema'}.`);
    }
  }

  private async saltSeed(): Promise<Buffer> {
    await this.db.query(`INSERT INTO xmpp_migrate_meta (key, value) VALUES ('salt-seed', $1) ON CONFLICT (key) DO NOTHING`, [randomBytes(32).toString('base64')]);
    const { rows } = await this.db.query<{ value: string }>(`SELECT value FROM xmpp_migrate_meta WHERE key = 'salt-seed'`);
    return Buffer.from(rows[0]!.value, 'base64');
  }

  encode(record: MigrationRecord): EncodedRecord | Promise<EncodedRecord> {
    return this.encoder.encode(record);
  }

  async beginStream(key: CheckpointKey): Promise<Checkpoint | undefined> {
    const { rows } = await this.db.query<{ cursor: string | null; state: string | null; records: string; completed: boolean; updated_at: string }>(
      `SELECT cursor, state, records::text AS records, completed, updated_at::text AS updated_at FROM xmpp_migrate_checkpoints WHERE migration = $1 AND stream = $2 AND shard = $3`,
      [key.migration, key.stream, key.shard],
    );
    const row = rows[0];
    this.allocatorState = row?.state ? (JSON.parse(row.state) as AllocatorState) : undefined;
    this.encoder.allocator.restore(this.allocatorState);
    if (!row) return undefined;
    return { cursor: row.cursor ?? undefined, completed: row.completed, records: Number(row.records), updatedAt: row.updated_at };
  }

  async write(batch: EncodedRecord[], checkpoint: CheckpointUpdate): Promise<WriteOutcome> {
    const byTable = new Map<string, TargetRow[]>();
    for (const encoded of batch) {
      for (const row of encoded.rows) {
        let list = byTable.get(row.table);
        if (!list) byTable.set(row.table, (list = []));
        list.push(row);
      }
    }
    await this.resolveArchiveIds(byTable);
    const state = lastAllocatorState(batch) ?? this.allocatorState;
    const outcome: WriteOutcome = { written: {}, present: {} };
    // Outside the transaction: a rolled-back batch must not take the staging tables with it.
    await this.ensureStaging(this.db);
    await this.db.transaction(async (session) => {
      for (const [table, rows] of byTable) {
        const spec = TABLES[table];
        if (!spec) throw new TargetError('internal', `no table spec for ${table}`);
        const values = rows.map((row) => this.rowValues(table, spec, row));
        await session.copyFrom(`xm_stage_${table}`, spec.columns, copyRows(values));
        let inserted = await this.moveStaged(session, table, spec);
        if (inserted < rows.length && (table === 'mam_message' || table === 'mam_muc_message')) {
          inserted += await this.resolveCollisions(session, table, spec);
        }
        if (spec.mainOf) {
          outcome.written[spec.mainOf] = (outcome.written[spec.mainOf] ?? 0) + inserted;
          outcome.present[spec.mainOf] = (outcome.present[spec.mainOf] ?? 0) + rows.length - inserted;
        }
        if (table === 'rosterusers') {
          // A rewritten roster must not be reported "unchanged" to clients holding an old version.
          await session.query(`DELETE FROM roster_version v USING (SELECT DISTINCT server, username FROM xm_stage_rosterusers) s WHERE v.server = s.server AND v.username = s.username`);
        }
      }
      await this.saveCheckpointIn(session, checkpoint, state);
    });
    this.allocatorState = state;
    return outcome;
  }

  async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    await this.saveCheckpointIn(this.db, checkpoint, this.allocatorState);
  }

  private async saveCheckpointIn(session: PgSession, checkpoint: CheckpointUpdate, state: AllocatorState | undefined): Promise<void> {
    const { key } = checkpoint;
    await session.query(
      `INSERT INTO xmpp_migrate_checkpoints (migration, stream, shard, cursor, state, records, completed, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (migration, stream, shard) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state,
         records = EXCLUDED.records, completed = EXCLUDED.completed, updated_at = now()`,
      [key.migration, key.stream, key.shard, checkpoint.cursor, state ? JSON.stringify(state) : null, checkpoint.records, checkpoint.completed],
    );
  }

  async listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    const { rows } = await this.db.query<{ migration: string; stream: string; shard: string; cursor: string | null; records: string; completed: boolean; updated_at: string }>(
      `SELECT migration, stream, shard, cursor, records::text AS records, completed, updated_at::text AS updated_at FROM xmpp_migrate_checkpoints ORDER BY updated_at`,
    );
    return rows.map((r) => ({ migration: r.migration, stream: r.stream, shard: r.shard, cursor: r.cursor ?? undefined, records: Number(r.records), completed: r.completed, updatedAt: r.updated_at }));
  }

  private async ensureStaging(session: PgSession): Promise<void> {
    if (this.stagingReady) return;
    for (const [table, spec] of Object.entries(TABLES)) {
      // Temporary, per connection, emptied at every commit: nothing to clean up after a kill.
      await session.query(`CREATE TEMP TABLE IF NOT EXISTS xm_stage_${table} ON COMMIT DELETE ROWS AS SELECT ${spec.columns.join(', ')} FROM ${table} WITH NO DATA`);
    }
    this.stagingReady = true;
  }

  private rowValues(table: string, spec: TableSpec, row: TargetRow): CopyValue[] {
    if (table === 'mam_message' || table === 'mam_muc_message') {
      const values: Record<string, unknown> = { ...row, id: ((row.micros as bigint) << 8n) | BigInt(this.settings.mamNode) };
      const archiveId = this.archiveIds.get(row.archive as string)!;
      if (table === 'mam_message') values.user_id = archiveId;
      else {
        values.room_id = archiveId;
        values.sender_id = this.archiveIds.get(row.sender as string)!;
      }
      return spec.columns.map((c) => values[c] as CopyValue);
    }
    return spec.columns.map((c) => row[c] as CopyValue);
  }

  /** INSERT … SELECT the staged rows that are not already present; returns how many were inserted. */
  private async moveStaged(session: PgSession, table: string, spec: TableSpec): Promise<number> {
    const columns = spec.columns.join(', ');
    const selected = spec.columns.map((c) => spec.select?.[c] ?? `s.${c}`).join(', ');
    if (table === 'mam_message' || table === 'mam_muc_message') {
      // Ids are unique per archive by construction: the primary key alone decides.
      const { rowCount } = await session.query(`INSERT INTO ${table} (${columns}) SELECT ${selected} FROM xm_stage_${table} s ON CONFLICT DO NOTHING`);
      return rowCount;
    }
    const keyMatch = spec.key.map((k) => `t.${k} = s.${k}`).join(' AND ');
    const distinctKey = spec.key.map((k) => `s.${k}`).join(', ');
    const { rowCount } = await session.query(
      `INSERT INTO ${table} (${columns})
       SELECT DISTINCT ON (${distinctKey}) ${selected} FROM xm_stage_${table} s
       WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE ${keyMatch})
       ON CONFLICT DO NOTHING`,
    );
    return rowCount;
  }

  /**
   * A staged MAM row whose id is taken by a different message (foreign rows, or a source that did not
   * deliver an archive contiguously) moves to the next free µs; one whose id holds the same message is
   * already present. Nothing is lost, nothing doubled. Returns rows inserted.
   */
  private async resolveCollisions(session: PgSession, table: string, spec: TableSpec): Promise<number> {
    const owner = table === 'mam_message' ? 'user_id' : 'room_id';
    const { rows } = await session.query<Record<string, unknown>>(
      `SELECT s.*, s.id::text AS id_text FROM xm_stage_${table} s JOIN ${table} t ON t.${owner} = s.${owner} AND t.id = s.id
       WHERE t.message <> s.message ORDER BY s.${owner}, s.id`,
    );
    let inserted = 0;
    const node = BigInt(this.settings.mamNode);
    for (const row of rows) {
      let micros = BigInt(row.id_text as string) >> 8n;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 1_000_000) throw new TargetError('mam-id-exhausted', `no free MAM id near ${row.id_text} in ${table} ${owner}=${row[owner]}`);
        micros += 1n;
        const id = (micros << 8n) | node;
        const existing = await session.query<{ same: boolean }>(`SELECT message = $3 AS same FROM ${table} WHERE ${owner} = $1 AND id = $2`, [row[owner], id.toString(), row.message]);
        if (existing.rows[0]?.same) break;
        if (existing.rows.length > 0) continue;
        const values = spec.columns.map((c) => (c === 'id' ? id.toString() : row[c]));
        const placeholders = spec.columns.map((_, i) => `$${i + 1}`).join(', ');
        await session.query(`INSERT INTO ${table} (${spec.columns.join(', ')}) VALUES (${placeholders})`, values);
        inserted++;
        break;
      }
    }
    return inserted;
  }

  /** mam_server_user rows are created outside the batch transaction: ids are never renumbered or reused. */
  private async resolveArchiveIds(byTable: Map<string, TargetRow[]>): Promise<void> {
    const wanted = new Set<string>();
    for (const row of byTable.get('mam_message') ?? []) wanted.add(row.archive as string);
    for (const row of byTable.get('mam_muc_message') ?? []) {
      wanted.add(row.archive as string);
      wanted.add(row.sender as string);
    }
    const missing = [...wanted].filter((k) => !this.archiveIds.has(k));
    if (missing.length === 0) return;
    if (this.archiveIds.size + missing.length > ARCHIVE_ID_CACHE) this.archiveIds.clear();
    const lookup = async (keys: string[]): Promise<void> => {
      const { rows } = await this.db.query<{ id: number; server: string; user_name: string }>(
        `SELECT m.id, m.server, m.user_name FROM mam_server_user m JOIN unnest($1::text[], $2::text[]) AS w(server, user_name) ON m.server = w.server AND m.user_name = w.user_name`,
        [keys.map((k) => k.split('\u0000')[0]!), keys.map((k) => k.split('\u0000')[1]!)],
      );
      for (const row of rows) this.archiveIds.set(archiveKey(row.server, row.user_name), Number(row.id));
    };
    // Look up first and insert only what is new: ON CONFLICT still draws sequence values it then discards.
    await lookup(missing);
    const absent = missing.filter((k) => !this.archiveIds.has(k));
    if (absent.length > 0) {
      await this.db.query(`INSERT INTO mam_server_user (server, user_name) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
        absent.map((k) => k.split('\u0000')[0]!),
        absent.map((k) => k.split('\u0000')[1]!),
      ]);
      await lookup(absent);
    }
    for (const key of missing) {
      if (!this.archiveIds.has(key)) throw new TargetError('mam-server-user', `could not create mam_server_user for ${key.replace('\u0000', '/')}`);
    }
  }

  async *archiveSummaries(): AsyncIterable<ArchiveSummary> {
    for (const [table, owner, type] of [['mam_message', 'user_id', 'user'], ['mam_muc_message', 'room_id', 'room']] as const) {
      const { rows } = await this.db.query<{ server: string; user_name: string; count: string; first_id: string; last_id: string; hash: string }>(
        `SELECT u.server, u.user_name, count(*)::text AS count, min(m.id)::text AS first_id, max(m.id)::text AS last_id,
                md5(string_agg(md5(m.message), '' ORDER BY m.id)) AS hash
         FROM ${table} m JOIN mam_server_user u ON u.id = m.${owner}
         GROUP BY u.server, u.user_name ORDER BY u.server, u.user_name`,
      );
      for (const row of rows) {
        yield {
          archive: `${row.server}/${row.user_name}`,
          type,
          count: Number(row.count),
          firstMicros: BigInt(row.first_id) >> 8n,
          lastMicros: BigInt(row.last_id) >> 8n,
          contentHash: row.hash,
        };
      }
    }
  }

  async inventory(): Promise<TargetInventory> {
    const tables: Record<string, number> = {};
    for (const table of Object.keys(TABLES)) {
      const { rows } = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
      tables[table] = Number(rows[0]!.n);
    }
    return { tables };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
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

