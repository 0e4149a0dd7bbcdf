// The MongooseIM writer's SQL on MySQL 8 and MariaDB 10.5+: LOAD DATA LOCAL INFILE (or, where the server
// forbids it, multi-row INSERTs under max_allowed_packet) into temporary staging tables typed exactly like
// the target's columns, then INSERT … SELECT of the rows not present yet (never INSERT IGNORE, which would
// truncate a value that does not fit instead of refusing it), the checkpoint upserted in the same
// transaction, and GET_LOCK as the run lock. See mongooseim-dialect.ts for the contract.
import { createHash } from 'node:crypto';
import { TargetError } from '../../errors.js';
import { TargetDataError } from '../target.js';
import type { Checkpoint, CheckpointKey, CheckpointUpdate } from '../target.js';
import type { SqlSession } from '../sql-database.js';
import type { ArchiveAggregate, BulkValue, CollidingRow, MongooseimDialect, SchemaReport, StoredCheckpoint } from '../mongooseim/mongooseim-dialect.js';
import { FINGERPRINT_TABLE, STAGING_ORDER, stagingColumns, stagingName, WRITER_TABLES, type TableSpec } from '../mongooseim/mongooseim-tables.js';
import { checkMysqlCharacterSets, checkMysqlSchema, MONGOOSEIM_MYSQL_DDL } from '../mongooseim/schema-mysql.js';
import type { MongooseImTable } from '../mongooseim/schema-tables.js';
import { LOAD_DATA_FORMAT, loadDataLines, sqlTuple } from './mysql-bulk-text.js';
import { LOCAL_INFILE_REFUSED, type MysqlDatabase, type MysqlSession } from './mysql-database.js';
import { MysqlInboxSql } from './mysql-inbox.js';

/** How batches reach the staging tables. */
export type MysqlBulkMode = 'load-data' | 'insert';

export interface MysqlDialectOptions {
  /**
   * `auto` (default): LOAD DATA LOCAL INFILE when the server allows it, multi-row INSERTs otherwise (with a
   * notice). The two others force one path (tests, the benchmark).
   */
  bulk?: 'auto' | MysqlBulkMode;
}

const META_DDL = [
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_checkpoints (
     migration varchar(128) NOT NULL, stream varchar(128) NOT NULL, shard varchar(32) NOT NULL,
     \`cursor\` text, state mediumtext, records bigint NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false,
     updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     PRIMARY KEY (migration, stream, shard)
   ) ENGINE=InnoDB CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_meta (
     \`key\` varchar(128) NOT NULL PRIMARY KEY, value text NOT NULL
   ) ENGINE=InnoDB CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS xmpp_migrate_fingerprints (
     tbl char(1) NOT NULL, owner bigint NOT NULL, id bigint NOT NULL, fp bigint NOT NULL, migration varchar(128) NOT NULL,
     PRIMARY KEY (tbl, owner, fp, id, migration)
   ) ENGINE=InnoDB CHARACTER SET ascii`,
];

/** Bytes a statement keeps free below max_allowed_packet (the packet header, the INSERT prefix). */
const PACKET_MARGIN = 4096;

/** Pairs per mam_server_user lookup or insert statement. */
const ARCHIVE_PAIRS_PER_STATEMENT = 500;

/** Messages per page when an archive is too large to hash in one GROUP_CONCAT. */
const HASH_PAGE = 50_000;

/** Bytes of one hex md5 in the concatenation an archive's content hash is computed over. */
const MD5_HEX = 32;

interface ColumnType {
  name: string;
  /** `varchar(250)`, `bigint(20) unsigned`, `enum('I','O')`, … */
  type: string;
  charset: string | null;
  collation: string | null;
}

const quote = (name: string): string => `\`${name}\``;

export class MysqlDialect implements MongooseimDialect<MysqlSession> {
  readonly label = 'MySQL/MariaDB';
  readonly embedded = false;
  readonly schemaSource = "MongooseIM 6.x's priv/mysql.sql (and its migrations)";
  private readonly noticeList: string[] = [];
  private readonly columnTypes = new Map<string, Map<string, ColumnType>>();
  private readonly stagingCreated = new Set<string>();

  private constructor(readonly db: MysqlDatabase, private mode: MysqlBulkMode) {
    // Temporary tables die with their connection: a replacement connection gets them before its first statement.
    db.onReconnect(() => {
      const lost = WRITER_TABLES.filter((spec) => this.stagingCreated.has(spec.name));
      this.stagingCreated.clear();
      return this.prepareStaging(lost);
    });
  }

  /**
   * Decides the bulk path. LOAD DATA LOCAL INFILE is the faster one, if narrowly: into staging on MariaDB
   * 10.11, 54.8k vs 52.3k mam_message rows/s for multi-row INSERTs on a quiet machine (52k vs 45k on a busy
   * one); end to end 6.7k vs 6.4k messages/s (bench/mariadb-case.ts). The INSERT text also has to be held
   * whole per statement, where LOAD DATA streams.
   */
  static async open(db: MysqlDatabase, options: MysqlDialectOptions = {}): Promise<MysqlDialect> {
    const requested = options.bulk ?? 'auto';
    await db.query(`SET SESSION group_concat_max_len = ${db.maxAllowedPacket}`);
    if (requested !== 'auto') return new MysqlDialect(db, requested);
    const { rows } = await db.query<{ local_infile: unknown }>('SELECT @@GLOBAL.local_infile AS local_infile');
    const allowed = rows[0]?.local_infile === true || String(rows[0]?.local_infile) === '1';
    const dialect = new MysqlDialect(db, allowed ? 'load-data' : 'insert');
    if (!allowed) dialect.noticeList.push(localInfileNotice());
    return dialect;
  }

  get bulkPath(): string {
    return this.mode === 'load-data' ? 'LOAD DATA LOCAL INFILE' : `multi-row INSERT (under max_allowed_packet = ${this.db.maxAllowedPacket} bytes)`;
  }

  get notices(): readonly string[] {
    return this.noticeList;
  }

  checkSchema(tables?: readonly MongooseImTable[]): Promise<SchemaReport> {
    return checkMysqlSchema(this.db, tables);
  }

  async createSchema(): Promise<void> {
    for (const statement of MONGOOSEIM_MYSQL_DDL) await this.db.query(statement);
  }

  characterSetProblems(): Promise<string[]> {
    return checkMysqlCharacterSets(this.db);
  }

  async tableExists(name: string): Promise<boolean> {
    const { rows } = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [name]);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async prepareMeta(): Promise<void> {
    for (const statement of META_DDL) await this.db.query(statement);
  }

  async saltSeed(candidate: string): Promise<string> {
    await this.db.query("INSERT INTO xmpp_migrate_meta (`key`, value) VALUES ('salt-seed', ?) ON DUPLICATE KEY UPDATE `key` = `key`", [candidate]);
    const { rows } = await this.db.query<{ value: string }>("SELECT value FROM xmpp_migrate_meta WHERE `key` = 'salt-seed'");
    return rows[0]!.value;
  }

  async loadCheckpoint(key: CheckpointKey): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.db.query<{ cursor: string | null; state: string | null; records: string; completed: boolean; updated_at: string }>(
      'SELECT `cursor`, state, records, completed, updated_at FROM xmpp_migrate_checkpoints WHERE migration = ? AND stream = ? AND shard = ?',
      [key.migration, key.stream, key.shard],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { cursor: row.cursor ?? undefined, state: row.state ?? undefined, completed: row.completed, records: Number(row.records), updatedAt: `${row.updated_at}+00` };
  }

  async saveCheckpoint(session: SqlSession, update: CheckpointUpdate, state: string | null): Promise<void> {
    const { key } = update;
    // VALUES(col) rather than MySQL 8's row alias: MariaDB has no row alias.
    await session.query(
      `INSERT INTO xmpp_migrate_checkpoints (migration, stream, shard, \`cursor\`, state, records, completed, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE \`cursor\` = VALUES(\`cursor\`), state = VALUES(state), records = VALUES(records),
         completed = VALUES(completed), updated_at = CURRENT_TIMESTAMP(6)`,
      [key.migration, key.stream, key.shard, update.cursor, state, update.records, update.completed],
    );
  }

  async listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    if (!(await this.tableExists('xmpp_migrate_checkpoints'))) return [];
    const { rows } = await this.db.query<{ migration: string; stream: string; shard: string; cursor: string | null; records: string; completed: boolean; updated_at: string }>(
      'SELECT migration, stream, shard, `cursor`, records, completed, updated_at FROM xmpp_migrate_checkpoints ORDER BY updated_at',
    );
    return rows.map((r) => ({ migration: r.migration, stream: r.stream, shard: r.shard, cursor: r.cursor ?? undefined, records: Number(r.records), completed: r.completed, updatedAt: `${r.updated_at}+00` }));
  }

  /** The target's column types, so staging holds exactly what the real column would (and compares alike). */
  private async columnsOf(table: string): Promise<Map<string, ColumnType>> {
    let columns = this.columnTypes.get(table);
    if (!columns) {
      const { rows } = await this.db.query<{ name: string; type: string; charset: string | null; collation: string | null }>(
        `SELECT column_name AS name, column_type AS type, character_set_name AS charset, collation_name AS collation
           FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`,
        [table],
      );
      columns = new Map(rows.map((r) => [r.name, r]));
      this.columnTypes.set(table, columns);
    }
    return columns;
  }

  async prepareStaging(tables: readonly TableSpec[]): Promise<void> {
    for (const spec of tables) {
      const staging = stagingName(spec.name);
      if (this.stagingCreated.has(spec.name)) {
        // Emptied before each batch, outside its transaction; TRUNCATE of a temporary table commits nothing.
        await this.db.query(`TRUNCATE TABLE ${staging}`);
        continue;
      }
      const types = await this.columnsOf(spec.name);
      const definitions = spec.columns.map((name) => {
        const column = types.get(name);
        if (!column) throw new TargetError('schema-incomplete', `${this.db.displayName} lacks column ${spec.name}.${name}`);
        const charset = column.charset ? ` CHARACTER SET ${column.charset} COLLATE ${column.collation}` : '';
        // Every staging column accepts NULL: NOT NULL is the real table's to enforce, at the INSERT … SELECT.
        return `${quote(name)} ${column.type}${charset} NULL DEFAULT NULL`;
      });
      if (spec.serialOrder) definitions.push(`${STAGING_ORDER} bigint NOT NULL`);
      // Per connection, gone when it closes: nothing to clean up after a kill.
      await this.db.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${staging} (${definitions.join(', ')}) ENGINE=InnoDB`);
      await this.db.query(`TRUNCATE TABLE ${staging}`);
      this.stagingCreated.add(spec.name);
    }
  }

  async stage(session: MysqlSession, table: TableSpec, rows: BulkValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const binary = stagingColumns(table).map((c) => table.binary?.includes(c) === true);
    if (this.mode === 'load-data') {
      try {
        await this.loadData(session, table, rows, binary, stagingName(table.name));
        return;
      } catch (err) {
        const errno = ((err as Error).cause as { errno?: number } | undefined)?.errno;
        if (errno === undefined || !LOCAL_INFILE_REFUSED.has(errno)) throw err;
        // The server (or a proxy) refused LOCAL INFILE after all: nothing was loaded, the transaction goes on.
        this.mode = 'insert';
        this.noticeList.push(localInfileNotice());
      }
    }
    await this.insertValues(session, table, rows, binary);
  }

  async loadArchiveDirect(session: MysqlSession, table: TableSpec, rows: BulkValue[][]): Promise<boolean> {
    // LOAD DATA only: LOCAL skips a duplicate key with a warning, which loadData turns into a refusal; the
    // savepoint then takes back what the statement did load. The INSERT path always stages.
    if (this.mode !== 'load-data' || rows.length === 0) return false;
    await session.query('SAVEPOINT xmpp_migrate_direct');
    try {
      await this.loadData(session, table, rows, stagingColumns(table).map((c) => table.binary?.includes(c) === true), table.name);
      return true;
    } catch (err) {
      // Whatever went wrong (a present key, a value that does not fit, LOCAL INFILE refused): nothing of it
      // stays, and the staging path, which tells these apart, takes the batch.
      await session.query('ROLLBACK TO SAVEPOINT xmpp_migrate_direct');
      if (err instanceof TargetDataError || LOCAL_INFILE_REFUSED.has(((err as Error).cause as { errno?: number } | undefined)?.errno ?? -1)) return false;
      throw err;
    }
  }

  private async loadData(session: MysqlSession, table: TableSpec, rows: BulkValue[][], binary: boolean[], into: string): Promise<void> {
    const lines = loadDataLines(rows, binary);
    this.checkRowSizes(table, lines);
    const columns = stagingColumns(table);
    const targets = columns.map((c, i) => (binary[i] ? `@${c}` : quote(c)));
    const unhex = columns.filter((_, i) => binary[i]).map((c) => `${quote(c)} = UNHEX(@${c})`);
    const sql = `LOAD DATA LOCAL INFILE 'xmpp-migrate-${table.name}' INTO TABLE ${into} CHARACTER SET utf8mb4 ${LOAD_DATA_FORMAT} (${targets.join(', ')})${unhex.length > 0 ? ` SET ${unhex.join(', ')}` : ''}`;
    const { rowCount, warnings } = await session.loadLocal(sql, lines);
    // LOCAL implies IGNORE: a value that does not fit is a warning, not an error. Treat it as the error it is.
    if (warnings > 0 || rowCount !== rows.length) {
      const { rows: shown } = await session.query<{ Level: string; Code: number; Message: string }>('SHOW WARNINGS LIMIT 5');
      const detail = shown.map((w) => `${w.Level} ${w.Code}: ${w.Message}`).join('; ');
      throw new TargetDataError(`loading ${table.name} refused ${rows.length - rowCount > 0 ? `${rows.length - rowCount} row(s)` : 'a value'}: ${detail || `${warnings} warning(s)`}`, '22000');
    }
  }

  private async insertValues(session: MysqlSession, table: TableSpec, rows: BulkValue[][], binary: boolean[]): Promise<void> {
    const prefix = `INSERT INTO ${stagingName(table.name)} (${stagingColumns(table).map(quote).join(', ')}) VALUES `;
    const limit = this.db.maxAllowedPacket - PACKET_MARGIN;
    let tuples: string[] = [];
    let bytes = Buffer.byteLength(prefix);
    for (const row of rows) {
      const tuple = sqlTuple(row, binary);
      const size = Buffer.byteLength(tuple) + 2;
      if (Buffer.byteLength(prefix) + size > limit) throw this.tooLarge(table, size);
      if (bytes + size > limit) {
        await session.query(prefix + tuples.join(', '));
        tuples = [];
        bytes = Buffer.byteLength(prefix);
      }
      tuples.push(tuple);
      bytes += size;
    }
    if (tuples.length > 0) await session.query(prefix + tuples.join(', '));
  }

  /** A row the server could never send back (nor MongooseIM write) is refused before it is sent. */
  private checkRowSizes(table: TableSpec, lines: string[]): void {
    const limit = this.db.maxAllowedPacket - PACKET_MARGIN;
    for (const line of lines) {
      // UTF-8 is at most 3 bytes per UTF-16 unit: measure exactly only lines that may be too large.
      if (line.length * 3 > limit && Buffer.byteLength(line) > limit) throw this.tooLarge(table, Buffer.byteLength(line));
    }
  }

  private tooLarge(table: TableSpec, bytes: number): TargetDataError {
    return new TargetDataError(`a ${table.name} row of about ${bytes} bytes exceeds the server's max_allowed_packet (${this.db.maxAllowedPacket}): MongooseIM could not read it back either; raise max_allowed_packet to keep it`, '22001');
  }

  async insertMissing(session: MysqlSession, table: TableSpec): Promise<number> {
    const staging = stagingName(table.name);
    const columns = table.columns.map(quote).join(', ');
    const selected = table.columns.map((c) => (table.nowIfNull?.includes(c) ? `COALESCE(s.${quote(c)}, CURRENT_TIMESTAMP)` : `s.${quote(c)}`)).join(', ');
    if (table.mamOwner) {
      // The primary key alone decides, as ON CONFLICT DO NOTHING on PostgreSQL: a no-op update counts 0
      // affected rows (the connection does not ask for found rows), and a different message at a taken id
      // is left for collidingMamRows. Unlike INSERT IGNORE, a value that does not fit is still an error.
      const { rowCount } = await session.query(
        `INSERT INTO ${table.name} (${columns}) SELECT ${selected} FROM ${staging} s ON DUPLICATE KEY UPDATE ${table.name}.id = ${table.name}.id`,
      );
      return rowCount;
    }
    // Rows already present leave the staging table first, so the INSERT never reads the table it writes
    // (which would materialise the whole SELECT) and needs no IGNORE.
    const types = await this.columnsOf(table.name);
    const keyMatch = table.key.flatMap((k) => {
      const match = `t.${quote(k)} = s.${quote(k)}`;
      // Text keys compare by the column's collation (case- and accent-insensitive by default), which the
      // index serves; "already present" also needs the same bytes. A row equal only by collation stays,
      // and the primary key refuses it: a reported reject, never a silently skipped record.
      return types.get(k)?.collation ? [match, `CAST(t.${quote(k)} AS BINARY) = CAST(s.${quote(k)} AS BINARY)`] : [match];
    });
    await session.query(`DELETE s FROM ${staging} s JOIN ${table.name} t ON ${keyMatch.join(' AND ')}`);
    const order = table.serialOrder ? ` ORDER BY s.${STAGING_ORDER}` : '';
    const { rowCount } = await session.query(`INSERT INTO ${table.name} (${columns}) SELECT ${selected} FROM ${staging} s${order}`);
    return rowCount;
  }

  async collidingMamRows(session: MysqlSession, table: TableSpec): Promise<CollidingRow[]> {
    const owner = quote(table.mamOwner!);
    const { rows } = await session.query<CollidingRow>(
      `SELECT s.*, CAST(s.id AS CHAR) AS id_text FROM ${stagingName(table.name)} s JOIN ${table.name} t ON t.${owner} = s.${owner} AND t.id = s.id
       WHERE t.message <> s.message ORDER BY s.${owner}, s.id`,
    );
    return rows;
  }

  async mamIdHolder(session: MysqlSession, table: TableSpec, owner: unknown, id: bigint, message: unknown): Promise<'free' | 'same' | 'other'> {
    const { rows } = await session.query<{ same: unknown }>(`SELECT message = ? AS same FROM ${table.name} WHERE ${quote(table.mamOwner!)} = ? AND id = ?`, [message, owner, id]);
    return rows.length === 0 ? 'free' : Number(rows[0]!.same) === 1 ? 'same' : 'other';
  }

  async insertRow(session: MysqlSession, table: TableSpec, values: unknown[]): Promise<void> {
    await session.query(`INSERT INTO ${table.name} (${table.columns.map(quote).join(', ')}) VALUES (${table.columns.map(() => '?').join(', ')})`, values);
  }

  async refreshPresent(session: MysqlSession, table: TableSpec): Promise<number> {
    const staging = stagingName(table.name);
    const refresh = table.refresh;
    if (!refresh) return 0;
    const types = await this.columnsOf(table.name);
    // Text compares by the column's collation (case-insensitive by default): "the same value" needs the same bytes.
    const same = (a: string, b: string, c: string): string => (types.get(c)?.collation ? `CAST(${a} AS BINARY) <=> CAST(${b} AS BINARY)` : `${a} <=> ${b}`);
    if (refresh !== 'update') {
      const scope = refresh.replaceSetBy;
      // A temporary table cannot be opened twice in one statement: the whole set goes, insertMissing writes it anew.
      const { rowCount } = await session.query(
        `DELETE t FROM ${table.name} t JOIN (SELECT DISTINCT ${scope.map(quote).join(', ')} FROM ${staging}) s ON ${scope.map((c) => `t.${quote(c)} = s.${quote(c)} AND ${same(`t.${quote(c)}`, `s.${quote(c)}`, c)}`).join(' AND ')}`,
      );
      return rowCount;
    }
    const others = table.columns.filter((c) => !table.key.includes(c));
    if (others.length === 0) return 0;
    const value = (c: string): string => (table.nowIfNull?.includes(c) ? `COALESCE(s.${quote(c)}, t.${quote(c)})` : `s.${quote(c)}`);
    const keyMatch = table.key.map((k) => `t.${quote(k)} = s.${quote(k)} AND ${same(`t.${quote(k)}`, `s.${quote(k)}`, k)}`).join(' AND ');
    const { rowCount } = await session.query(
      `UPDATE ${table.name} t JOIN ${staging} s ON ${keyMatch}
       SET ${others.map((c) => `t.${quote(c)} = ${value(c)}`).join(', ')}
       WHERE NOT (${others.map((c) => same(`t.${quote(c)}`, value(c), c)).join(' AND ')})`,
    );
    return rowCount;
  }

  async dropMergedMessages(session: MysqlSession, table: TableSpec, tbl: 'u' | 'r', windowIds: bigint): Promise<number> {
    const owner = quote(table.mamOwner!);
    const staging = stagingName(table.name);
    const fingerprints = stagingName(FINGERPRINT_TABLE.name);
    const window = windowIds.toString();
    // Each temporary table appears once per statement (MySQL cannot reopen one).
    const { rowCount } = await session.query(
      `DELETE s FROM ${staging} s JOIN ${fingerprints} f ON f.tbl = ? AND f.owner = s.${owner} AND f.id = s.id
       JOIN ${FINGERPRINT_TABLE.name} g ON g.tbl = f.tbl AND g.owner = f.owner AND g.fp = f.fp AND g.migration <> f.migration
         AND g.id BETWEEN f.id - ${window} AND f.id + ${window}`,
      [tbl],
    );
    if (rowCount > 0) {
      await session.query(`DELETE f FROM ${fingerprints} f LEFT JOIN ${staging} s ON s.${owner} = f.owner AND s.id = f.id WHERE f.tbl = ? AND s.id IS NULL`, [tbl]);
    }
    return rowCount;
  }

  async recordFingerprints(session: MysqlSession): Promise<void> {
    const columns = FINGERPRINT_TABLE.columns.join(', ');
    await session.query(`INSERT INTO ${FINGERPRINT_TABLE.name} (${columns}) SELECT ${columns} FROM ${stagingName(FINGERPRINT_TABLE.name)} f ON DUPLICATE KEY UPDATE ${FINGERPRINT_TABLE.name}.id = ${FINGERPRINT_TABLE.name}.id`);
  }

  async readMeta(key: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ value: string }>('SELECT value FROM xmpp_migrate_meta WHERE `key` = ?', [key]);
    return rows[0]?.value;
  }

  async writeMeta(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO xmpp_migrate_meta (`key`, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)', [key, value]);
  }

  async forgetRosterVersions(session: MysqlSession): Promise<void> {
    await session.query(`DELETE v FROM roster_version v JOIN (SELECT DISTINCT server, username FROM ${stagingName('rosterusers')}) s ON v.server = s.server AND v.username = s.username`);
  }

  async preferStaged(session: MysqlSession, table: TableSpec): Promise<void> {
    const staging = stagingName(table.name);
    const column = quote(table.prefer!.column);
    const value = table.prefer!.value;
    const types = await this.columnsOf(table.name);
    // Same bytes, not only equal by the column's collation (as insertMissing decides "present").
    const keyMatch = table.key.map((k) => `t.${quote(k)} = s.${quote(k)}${types.get(k)?.collation ? ` AND CAST(t.${quote(k)} AS BINARY) = CAST(s.${quote(k)} AS BINARY)` : ''}`).join(' AND ');
    const others = table.columns.filter((c) => !table.key.includes(c));
    await session.query(
      `UPDATE ${table.name} t JOIN ${staging} s ON ${keyMatch} SET ${others.map((c) => `t.${quote(c)} = s.${quote(c)}`).join(', ')}
       WHERE CAST(s.${column} AS BINARY) = CAST(? AS BINARY) AND CAST(t.${column} AS BINARY) <> CAST(? AS BINARY)`,
      [value, value],
    );
    await session.query(
      `DELETE s FROM ${staging} s JOIN ${table.name} t ON ${keyMatch}
       WHERE CAST(s.${column} AS BINARY) <> CAST(? AS BINARY) AND CAST(t.${column} AS BINARY) = CAST(? AS BINARY)`,
      [value, value],
    );
  }

  async findSerialIds(session: MysqlSession, table: TableSpec, keys: string[][]): Promise<Array<{ id: string; key: string[] }>> {
    const wanted = new Set(keys.map((k) => k.join('\u0000')));
    const found: Array<{ id: string; key: string[] }> = [];
    for (let i = 0; i < keys.length; i += ARCHIVE_PAIRS_PER_STATEMENT) {
      const chunk = keys.slice(i, i + ARCHIVE_PAIRS_PER_STATEMENT);
      const tuple = `(${table.key.map(() => '?').join(', ')})`;
      const { rows } = await session.query<Record<string, string>>(
        `SELECT CAST(${quote(table.serialId!)} AS CHAR) AS xm_id, ${table.key.map(quote).join(', ')} FROM ${table.name}
         WHERE (${table.key.map(quote).join(', ')}) IN (${chunk.map(() => tuple).join(', ')})`,
        chunk.flat(),
      );
      for (const row of rows) {
        const key = table.key.map((k) => String(row[k]));
        // The IN compares by collation: keep only the rows stored with exactly these bytes.
        if (wanted.has(key.join('\u0000'))) found.push({ id: String(row.xm_id), key });
      }
    }
    return found;
  }

  async findArchiveIds(pairs: Array<[string, string]>): Promise<Array<{ id: number; server: string; user_name: string }>> {
    const found: Array<{ id: number; server: string; user_name: string }> = [];
    for (let i = 0; i < pairs.length; i += ARCHIVE_PAIRS_PER_STATEMENT) {
      const chunk = pairs.slice(i, i + ARCHIVE_PAIRS_PER_STATEMENT);
      const { rows } = await this.db.query<{ id: number; server: string; user_name: string }>(
        `SELECT id, server, user_name FROM mam_server_user WHERE (server, user_name) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
        chunk.flat(),
      );
      found.push(...rows);
    }
    return found;
  }

  async createArchiveIds(pairs: Array<[string, string]>): Promise<void> {
    for (let i = 0; i < pairs.length; i += ARCHIVE_PAIRS_PER_STATEMENT) {
      const chunk = pairs.slice(i, i + ARCHIVE_PAIRS_PER_STATEMENT);
      // MongooseIM's own upsert of this table: "update a field to itself". INSERT IGNORE would truncate a
      // name longer than the column's 250 bytes into someone else's archive.
      await this.db.query(`INSERT INTO mam_server_user (server, user_name) VALUES ${chunk.map(() => '(?, ?)').join(', ')} ON DUPLICATE KEY UPDATE server = server`, chunk.flat());
    }
  }

  async *archiveAggregates(table: TableSpec, only?: Array<[string, string]>): AsyncIterable<ArchiveAggregate> {
    const owner = quote(table.mamOwner!);
    // GROUP_CONCAT stops at max_allowed_packet (session group_concat_max_len is set to it): archives whose
    // concatenated hashes would not fit are hashed page by page instead.
    const fits = Math.floor(this.db.maxAllowedPacket / MD5_HEX);
    const { rows } = await this.db.query<{ owner_id: number; server: string; user_name: string; count: string; first_id: string; last_id: string; hash: string | null }>(
      `SELECT u.id AS owner_id, u.server, u.user_name, count(*) AS count, min(m.id) AS first_id, max(m.id) AS last_id,
              IF(count(*) <= ${fits}, MD5(GROUP_CONCAT(MD5(m.message) ORDER BY m.id SEPARATOR '')), NULL) AS hash
         FROM ${table.name} m JOIN mam_server_user u ON u.id = m.${owner}
         ${only ? (only.length === 0 ? 'WHERE FALSE' : `WHERE (u.server, u.user_name) IN (${only.map(() => '(?, ?)').join(', ')})`) : ''}
        GROUP BY u.id, u.server, u.user_name ORDER BY u.server, u.user_name`,
      only ? only.flat() : [],
    );
    for (const row of rows) {
      yield {
        server: row.server,
        userName: row.user_name,
        count: Number(row.count),
        firstId: BigInt(row.first_id),
        lastId: BigInt(row.last_id),
        contentHash: row.hash ?? (await this.pagedContentHash(table, row.owner_id)),
      };
    }
  }

  private async pagedContentHash(table: TableSpec, ownerId: number): Promise<string> {
    const hash = createHash('md5');
    let after = -1n;
    for (;;) {
      const { rows } = await this.db.query<{ id: string; h: string }>(
        `SELECT id, MD5(message) AS h FROM ${table.name} WHERE ${quote(table.mamOwner!)} = ? AND id > ? ORDER BY id LIMIT ${HASH_PAGE}`,
        [ownerId, after],
      );
      for (const row of rows) hash.update(row.h);
      if (rows.length < HASH_PAGE) return hash.digest('hex');
      after = BigInt(rows[rows.length - 1]!.id);
    }
  }

  async countRows(table: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(rows[0]!.n);
  }

  inboxSql(): MysqlInboxSql {
    return new MysqlInboxSql(this.db);
  }
}

function localInfileNotice(): string {
  return 'the MySQL server forbids LOAD DATA LOCAL INFILE (local_infile = OFF): loading with multi-row INSERTs instead, which is slower; `SET GLOBAL local_infile = 1` on the server (for the migration) restores the fast path';
}
