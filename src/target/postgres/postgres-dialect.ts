// The MongooseIM writer's SQL on PostgreSQL and PGlite: COPY into temporary staging tables emptied at
// every commit, INSERT … SELECT DISTINCT ON … ON CONFLICT DO NOTHING, archive summaries aggregated by the
// server. See mongooseim-dialect.ts for the contract.
import type { SqlSession } from '../sql-database.js';
import type { Checkpoint, CheckpointKey, CheckpointUpdate } from '../target.js';
import type { ArchiveAggregate, BulkValue, CollidingRow, MongooseimDialect, SchemaReport, StoredCheckpoint } from '../mongooseim/mongooseim-dialect.js';
import { STAGING_ORDER, stagingColumns, stagingName, WRITER_TABLES, type TableSpec } from '../mongooseim/mongooseim-tables.js';
import { checkPgSchema, MONGOOSEIM_PG_DDL } from '../mongooseim/schema-pg.js';
import type { MongooseImTable } from '../mongooseim/schema-tables.js';
import { copyRows, type CopyValue } from './postgres-bulk-text.js';
import type { PgSession, PostgresDatabase } from './postgres-database.js';

const META_DDL = [
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_checkpoints (
     migration text NOT NULL, stream text NOT NULL, shard text NOT NULL,
     cursor text, state text, records bigint NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration, stream, shard))`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`,
];

/** bigint parameters as decimal text: neither `pg` nor PGlite binds a JS bigint. */
const param = (value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

export class PostgresDialect implements MongooseimDialect<PgSession> {
  readonly label: string;
  readonly embedded: boolean;
  readonly schemaSource = "MongooseIM 6.x's priv/pg.sql (and its migrations)";
  readonly bulkPath = 'COPY FROM STDIN';
  readonly notices: readonly string[] = [];
  private stagingReady = false;

  constructor(readonly db: PostgresDatabase) {
    this.label = db.kind === 'pglite' ? 'PGlite' : 'PostgreSQL';
    this.embedded = db.kind === 'pglite';
  }

  checkSchema(tables?: readonly MongooseImTable[]): Promise<SchemaReport> {
    return checkPgSchema(this.db, tables);
  }

  async createSchema(): Promise<void> {
    for (const statement of MONGOOSEIM_PG_DDL) await this.db.query(statement);
  }

  async tableExists(name: string): Promise<boolean> {
    const { rows } = await this.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
      [name],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async prepareMeta(): Promise<void> {
    for (const statement of META_DDL) await this.db.query(statement);
  }

  async saltSeed(candidate: string): Promise<string> {
    await this.db.query(`INSERT INTO xmpp_migrate_meta (key, value) VALUES ('salt-seed', $1) ON CONFLICT (key) DO NOTHING`, [candidate]);
    const { rows } = await this.db.query<{ value: string }>(`SELECT value FROM xmpp_migrate_meta WHERE key = 'salt-seed'`);
    return rows[0]!.value;
  }

  async loadCheckpoint(key: CheckpointKey): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.db.query<{ cursor: string | null; state: string | null; records: string; completed: boolean; updated_at: string }>(
      `SELECT cursor, state, records::text AS records, completed, updated_at::text AS updated_at FROM xmpp_migrate_checkpoints WHERE migration = $1 AND stream = $2 AND shard = $3`,
      [key.migration, key.stream, key.shard],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { cursor: row.cursor ?? undefined, state: row.state ?? undefined, completed: row.completed, records: Number(row.records), updatedAt: row.updated_at };
  }

  async saveCheckpoint(session: SqlSession, update: CheckpointUpdate, state: string | null): Promise<void> {
    const { key } = update;
    await session.query(
      `INSERT INTO xmpp_migrate_checkpoints (migration, stream, shard, cursor, state, records, completed, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (migration, stream, shard) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state,
         records = EXCLUDED.records, completed = EXCLUDED.completed, updated_at = now()`,
      [key.migration, key.stream, key.shard, update.cursor, state, update.records, update.completed],
    );
  }

  async listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    if (!(await this.tableExists('xmpp_migrate_checkpoints'))) return [];
    const { rows } = await this.db.query<{ migration: string; stream: string; shard: string; cursor: string | null; records: string; completed: boolean; updated_at: string }>(
      `SELECT migration, stream, shard, cursor, records::text AS records, completed, updated_at::text AS updated_at FROM xmpp_migrate_checkpoints ORDER BY updated_at`,
    );
    return rows.map((r) => ({ migration: r.migration, stream: r.stream, shard: r.shard, cursor: r.cursor ?? undefined, records: Number(r.records), completed: r.completed, updatedAt: r.updated_at }));
  }

  async prepareStaging(): Promise<void> {
    if (this.stagingReady) return;
    for (const spec of WRITER_TABLES) {
      // Temporary, per connection, emptied at every commit: nothing to clean up after a kill.
      const order = spec.serialOrder ? `, 0::bigint AS ${STAGING_ORDER}` : '';
      await this.db.query(`CREATE TEMP TABLE IF NOT EXISTS ${stagingName(spec.name)} ON COMMIT DELETE ROWS AS SELECT ${spec.columns.join(', ')}${order} FROM ${spec.name} WITH NO DATA`);
    }
    this.stagingReady = true;
  }

  stage(session: PgSession, table: TableSpec, rows: BulkValue[][]): Promise<void> {
    return session.copyFrom(stagingName(table.name), stagingColumns(table), copyRows(rows as CopyValue[][]));
  }

  async insertMissing(session: PgSession, table: TableSpec): Promise<number> {
    const columns = table.columns.join(', ');
    const selected = table.columns.map((c) => (table.nowIfNull?.includes(c) ? `COALESCE(s.${c}, now())` : `s.${c}`)).join(', ');
    const staging = stagingName(table.name);
    if (table.mamOwner) {
      // Ids are unique per archive by construction: the primary key alone decides.
      const { rowCount } = await session.query(`INSERT INTO ${table.name} (${columns}) SELECT ${selected} FROM ${staging} s ON CONFLICT DO NOTHING`);
      return rowCount;
    }
    // The writer stages one row per key, so no DISTINCT: it would also reorder the rows.
    const keyMatch = table.key.map((k) => `t.${k} = s.${k}`).join(' AND ');
    const { rowCount } = await session.query(
      `INSERT INTO ${table.name} (${columns})
       SELECT ${selected} FROM ${staging} s
       WHERE NOT EXISTS (SELECT 1 FROM ${table.name} t WHERE ${keyMatch})
       ${table.serialOrder ? `ORDER BY s.${STAGING_ORDER}` : ''}
       ON CONFLICT DO NOTHING`,
    );
    return rowCount;
  }

  async collidingMamRows(session: PgSession, table: TableSpec): Promise<CollidingRow[]> {
    const owner = table.mamOwner!;
    const { rows } = await session.query<CollidingRow>(
      `SELECT s.*, s.id::text AS id_text FROM ${stagingName(table.name)} s JOIN ${table.name} t ON t.${owner} = s.${owner} AND t.id = s.id
       WHERE t.message <> s.message ORDER BY s.${owner}, s.id`,
    );
    return rows;
  }

  async mamIdHolder(session: PgSession, table: TableSpec, owner: unknown, id: bigint, message: unknown): Promise<'free' | 'same' | 'other'> {
    const { rows } = await session.query<{ same: boolean }>(`SELECT message = $3 AS same FROM ${table.name} WHERE ${table.mamOwner} = $1 AND id = $2`, [owner, id.toString(), message]);
    return rows.length === 0 ? 'free' : rows[0]!.same ? 'same' : 'other';
  }

  async insertRow(session: PgSession, table: TableSpec, values: unknown[]): Promise<void> {
    const placeholders = table.columns.map((_, i) => `$${i + 1}`).join(', ');
    await session.query(`INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES (${placeholders})`, values.map(param));
  }

  async forgetRosterVersions(session: PgSession): Promise<void> {
    await session.query(`DELETE FROM roster_version v USING (SELECT DISTINCT server, username FROM ${stagingName('rosterusers')}) s WHERE v.server = s.server AND v.username = s.username`);
  }

  async findArchiveIds(pairs: Array<[string, string]>): Promise<Array<{ id: number; server: string; user_name: string }>> {
    const { rows } = await this.db.query<{ id: number; server: string; user_name: string }>(
      `SELECT m.id, m.server, m.user_name FROM mam_server_user m JOIN unnest($1::text[], $2::text[]) AS w(server, user_name) ON m.server = w.server AND m.user_name = w.user_name`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    return rows;
  }

  async createArchiveIds(pairs: Array<[string, string]>): Promise<void> {
    await this.db.query(`INSERT INTO mam_server_user (server, user_name) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
    ]);
  }

  async *archiveAggregates(table: TableSpec): AsyncIterable<ArchiveAggregate> {
    const { rows } = await this.db.query<{ server: string; user_name: string; count: string; first_id: string; last_id: string; hash: string }>(
      `SELECT u.server, u.user_name, count(*)::text AS count, min(m.id)::text AS first_id, max(m.id)::text AS last_id,
              md5(string_agg(md5(m.message), '' ORDER BY m.id)) AS hash
       FROM ${table.name} m JOIN mam_server_user u ON u.id = m.${table.mamOwner}
       GROUP BY u.server, u.user_name ORDER BY u.server, u.user_name`,
    );
    for (const row of rows) {
      yield { server: row.server, userName: row.user_name, count: Number(row.count), firstId: BigInt(row.first_id), lastId: BigInt(row.last_id), contentHash: row.hash };
    }
  }

  async countRows(table: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    return Number(rows[0]!.n);
  }
}
