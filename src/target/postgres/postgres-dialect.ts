// The MongooseIM writer's SQL on PostgreSQL and PGlite: COPY (binary where the column types allow, see
// postgres-bulk-binary.ts) straight into the archive tables, or into temporary staging tables emptied at
// every commit, INSERT … SELECT DISTINCT ON … ON CONFLICT DO NOTHING, archive summaries aggregated by the
// server. See mongooseim-dialect.ts for the contract.
import type { SqlSession } from '../sql-database.js';
import type { Checkpoint, CheckpointKey, CheckpointUpdate } from '../target.js';
import type { ArchiveAggregate, BulkValue, CollidingRow, MongooseimDialect, SchemaReport, StoredCheckpoint } from '../mongooseim/mongooseim-dialect.js';
import { FINGERPRINT_TABLE, STAGING_ORDER, stagingColumns, stagingName, WRITER_TABLES, type TableSpec } from '../mongooseim/mongooseim-tables.js';
import { checkPgSchema, MONGOOSEIM_PG_DDL } from '../mongooseim/schema-pg.js';
import type { MongooseImTable } from '../mongooseim/schema-tables.js';
import { copyRows, type CopyValue } from './postgres-bulk-text.js';
import { binaryColumnType, copyBinaryRows, type BinaryColumnType } from './postgres-bulk-binary.js';
import { PostgresInboxSql } from './postgres-inbox.js';
import { TargetDataError } from '../target.js';
import type { PgSession, PostgresDatabase } from './postgres-database.js';

const META_DDL = [
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_checkpoints (
     migration text NOT NULL, stream text NOT NULL, shard text NOT NULL,
     cursor text, state text, records bigint NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration, stream, shard))`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_fingerprints (
     tbl char(1) NOT NULL, owner bigint NOT NULL, id bigint NOT NULL, fp bigint NOT NULL, migration text NOT NULL,
     PRIMARY KEY (tbl, owner, fp, id, migration))`,
];

const UNIQUE_VIOLATION = '23505';

/** bigint parameters as decimal text: neither `pg` nor PGlite binds a JS bigint. */
const param = (value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

export class PostgresDialect implements MongooseimDialect<PgSession> {
  readonly label: string;
  readonly embedded: boolean;
  readonly schemaSource = "MongooseIM 6.x's priv/pg.sql (and its migrations)";
  readonly bulkPath = 'COPY FROM STDIN';
  readonly notices: readonly string[] = [];
  private stagingReady = false;
  /** Per relation, the binary COPY encoder of each column written (undefined: text COPY). */
  private readonly columnTypes = new Map<string, BinaryColumnType[] | undefined>();

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
    await this.createStaging();
    // Temporary tables die with their connection: a replacement connection gets them before its first statement.
    this.db.onReconnect(() => this.createStaging());
    this.stagingReady = true;
  }

  private async createStaging(): Promise<void> {
    for (const spec of [...WRITER_TABLES, FINGERPRINT_TABLE]) {
      // Temporary, per connection, emptied at every commit: nothing to clean up after a kill.
      const order = spec.serialOrder ? `, 0::bigint AS ${STAGING_ORDER}` : '';
      await this.db.query(`CREATE TEMP TABLE IF NOT EXISTS ${stagingName(spec.name)} ON COMMIT DELETE ROWS AS SELECT ${spec.columns.join(', ')}${order} FROM ${spec.name} WITH NO DATA`);
    }
  }

  stage(session: PgSession, table: TableSpec, rows: BulkValue[][]): Promise<void> {
    return this.copy(session, stagingName(table.name), stagingColumns(table), rows);
  }

  /** COPY in binary form when every column has a binary encoder and every value fits it, else in text form. */
  private async copy(session: PgSession, relation: string, columns: string[], rows: BulkValue[][]): Promise<void> {
    const types = await this.binaryTypes(session, relation, columns);
    const binary = types && copyBinaryRows(rows as CopyValue[][], types);
    if (binary) await session.copyFrom(relation, columns, binary, 'binary');
    else await session.copyFrom(relation, columns, copyRows(rows as CopyValue[][]));
  }

  /** Each column's binary encoder, read once per relation from the catalog; undefined: the table goes as text. */
  private async binaryTypes(session: PgSession, relation: string, columns: string[]): Promise<BinaryColumnType[] | undefined> {
    if (this.columnTypes.has(relation)) return this.columnTypes.get(relation);
    const { rows } = await session.query<{ attname: string; typname: string; typtype: string }>(
      `SELECT a.attname, t.typname, t.typtype FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [relation],
    );
    const byName = new Map(rows.map((r) => [r.attname, binaryColumnType(r.typname, r.typtype)]));
    const types = columns.map((c) => byName.get(c));
    const usable = types.every((t) => t !== undefined) ? (types as BinaryColumnType[]) : undefined;
    this.columnTypes.set(relation, usable);
    return usable;
  }

  async loadArchiveDirect(session: PgSession, table: TableSpec, rows: BulkValue[][]): Promise<boolean> {
    // Never released: it ends with the transaction, and a RELEASE would cost a round trip per batch.
    await session.query('SAVEPOINT xmpp_migrate_direct');
    try {
      await this.copy(session, table.name, table.columns, rows);
      return true;
    } catch (err) {
      if (!(err instanceof TargetDataError) || err.sqlState !== UNIQUE_VIOLATION) throw err;
      await session.query('ROLLBACK TO SAVEPOINT xmpp_migrate_direct');
      return false;
    }
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

  async refreshPresent(session: PgSession, table: TableSpec): Promise<number> {
    const staging = stagingName(table.name);
    const refresh = table.refresh;
    if (!refresh) return 0;
    if (refresh !== 'update') {
      const scope = refresh.replaceSetBy;
      const { rowCount } = await session.query(
        `DELETE FROM ${table.name} t USING (SELECT DISTINCT ${scope.join(', ')} FROM ${staging}) s WHERE ${scope.map((c) => `t.${c} = s.${c}`).join(' AND ')}`,
      );
      return rowCount;
    }
    const others = table.columns.filter((c) => !table.key.includes(c));
    if (others.length === 0) return 0;
    const value = (c: string): string => (table.nowIfNull?.includes(c) ? `COALESCE(s.${c}, t.${c})` : `s.${c}`);
    // Compared as text: json columns (muc_rooms.options) have no equality operator.
    const { rowCount } = await session.query(
      `UPDATE ${table.name} t SET ${others.map((c) => `${c} = ${value(c)}`).join(', ')} FROM ${staging} s
       WHERE ${table.key.map((k) => `t.${k} = s.${k}`).join(' AND ')}
         AND (${others.map((c) => `t.${c}::text`).join(', ')}) IS DISTINCT FROM (${others.map((c) => `(${value(c)})::text`).join(', ')})`,
    );
    return rowCount;
  }

  async dropMergedMessages(session: PgSession, table: TableSpec, tbl: 'u' | 'r', windowIds: bigint): Promise<number> {
    const owner = table.mamOwner!;
    const staging = stagingName(table.name);
    const fingerprints = stagingName(FINGERPRINT_TABLE.name);
    const { rowCount } = await session.query(
      `DELETE FROM ${staging} s WHERE EXISTS (
         SELECT 1 FROM ${fingerprints} f JOIN ${FINGERPRINT_TABLE.name} g
           ON g.tbl = f.tbl AND g.owner = f.owner AND g.fp = f.fp AND g.migration <> f.migration AND g.id BETWEEN f.id - $2::bigint AND f.id + $2::bigint
         WHERE f.tbl = $1 AND f.owner = s.${owner} AND f.id = s.id)`,
      [tbl, windowIds.toString()],
    );
    if (rowCount > 0) {
      await session.query(`DELETE FROM ${fingerprints} f WHERE f.tbl = $1 AND NOT EXISTS (SELECT 1 FROM ${staging} s WHERE s.${owner} = f.owner AND s.id = f.id)`, [tbl]);
    }
    return rowCount;
  }

  async recordFingerprints(session: PgSession): Promise<void> {
    const columns = FINGERPRINT_TABLE.columns.join(', ');
    await session.query(`INSERT INTO ${FINGERPRINT_TABLE.name} (${columns}) SELECT ${columns} FROM ${stagingName(FINGERPRINT_TABLE.name)} ON CONFLICT DO NOTHING`);
  }

  async readMeta(key: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ value: string }>(`SELECT value FROM xmpp_migrate_meta WHERE key = $1`, [key]);
    return rows[0]?.value;
  }

  async writeMeta(key: string, value: string): Promise<void> {
    await this.db.query(`INSERT INTO xmpp_migrate_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, value]);
  }

  async forgetRosterVersions(session: PgSession): Promise<void> {
    await session.query(`DELETE FROM roster_version v USING (SELECT DISTINCT server, username FROM ${stagingName('rosterusers')}) s WHERE v.server = s.server AND v.username = s.username`);
  }

  async preferStaged(session: PgSession, table: TableSpec): Promise<void> {
    const { column } = table.prefer!;
    const staging = stagingName(table.name);
    const keyMatch = table.key.map((k) => `t.${k} = s.${k}`).join(' AND ');
    const others = table.columns.filter((c) => !table.key.includes(c));
    await session.query(
      `UPDATE ${table.name} t SET ${others.map((c) => `${c} = s.${c}`).join(', ')} FROM ${staging} s
       WHERE ${keyMatch} AND s.${column} = $1 AND t.${column} <> $1`,
      [table.prefer!.value],
    );
    await session.query(`DELETE FROM ${staging} s USING ${table.name} t WHERE ${keyMatch} AND s.${column} <> $1 AND t.${column} = $1`, [table.prefer!.value]);
  }

  async findSerialIds(session: PgSession, table: TableSpec, keys: string[][]): Promise<Array<{ id: string; key: string[] }>> {
    const { rows } = await session.query<Record<string, string>>(
      `SELECT t.${table.serialId}::text AS xm_id, ${table.key.map((k) => `t.${k}`).join(', ')} FROM ${table.name} t
       JOIN unnest(${table.key.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS w(${table.key.join(', ')}) ON ${table.key.map((k) => `t.${k} = w.${k}`).join(' AND ')}`,
      table.key.map((_, i) => keys.map((k) => k[i])),
    );
    return rows.map((r) => ({ id: r.xm_id!, key: table.key.map((k) => r[k]!) }));
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

  async *archiveAggregates(table: TableSpec, only?: Array<[string, string]>): AsyncIterable<ArchiveAggregate> {
    const filter = only ? 'WHERE (u.server, u.user_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))' : '';
    const { rows } = await this.db.query<{ server: string; user_name: string; count: string; first_id: string; last_id: string; hash: string }>(
      `SELECT u.server, u.user_name, count(*)::text AS count, min(m.id)::text AS first_id, max(m.id)::text AS last_id,
              md5(string_agg(md5(m.message), '' ORDER BY m.id)) AS hash
       FROM ${table.name} m JOIN mam_server_user u ON u.id = m.${table.mamOwner} ${filter}
       GROUP BY u.server, u.user_name ORDER BY u.server, u.user_name`,
      only ? [only.map((p) => p[0]), only.map((p) => p[1])] : [],
    );
    for (const row of rows) {
      yield { server: row.server, userName: row.user_name, count: Number(row.count), firstId: BigInt(row.first_id), lastId: BigInt(row.last_id), contentHash: row.hash };
    }
  }

  async countRows(table: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    return Number(rows[0]!.n);
  }

  inboxSql(): PostgresInboxSql {
    return new PostgresInboxSql(this.db);
  }
}
