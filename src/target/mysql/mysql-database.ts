// One connection to a MySQL or MariaDB target through mysql2. Results come back as `pg` gives them, so
// the writer and its readers see one shape: BIGINT as decimal text (MAM ids exceed 2^53), booleans
// (MySQL's TINYINT(1)) as true/false, binary-collation JID columns (VARBINARY) as the UTF-8 text they hold.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { TargetError, errorMessage, redactSecrets } from '../../errors.js';
import { ReconnectingConnection } from '../reconnecting-connection.js';
import type { SqlDatabase, SqlSession } from '../sql-database.js';
import { TargetDataError } from '../target.js';

export interface MysqlSession extends SqlSession {
  /**
   * Runs a `LOAD DATA LOCAL INFILE` statement whose file is `lines` (UTF-8, one element per line), streamed
   * to the server in packets. Resolves to the rows loaded and the warnings the server raised.
   */
  loadLocal(sql: string, lines: string[]): Promise<{ rowCount: number; warnings: number }>;
}

export interface MysqlDatabase extends SqlDatabase<MysqlSession>, MysqlSession {
  readonly kind: 'mysql';
  /** The database (schema) of the URL. */
  readonly database: string;
  /** `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1` or `8.0.36`. */
  readonly serverVersion: string;
  /** The server's max_allowed_packet: no statement or row may be larger. */
  readonly maxAllowedPacket: number;
}

/**
 * Our session's settings, whatever the server's defaults: strict (a value that does not fit is an error,
 * never a silent truncation), backslash escapes and plain quotes (our SQL text relies on both), UTC for
 * TIMESTAMP columns.
 */
const SESSION_SETUP = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE'",
  "SET SESSION time_zone = '+00:00'",
];

/** Errors that mean "this data is wrong", beyond SQLSTATE classes 22 and 23 (MySQL files many under HY000). */
const DATA_ERRNOS = new Set([
  1048, // column cannot be null
  1062, // duplicate entry
  1264, // out of range
  1265, // data truncated
  1292, // incorrect datetime / value
  1300, // invalid character string
  1364, // field has no default
  1366, // incorrect string value (not valid in the column's character set)
  1406, // data too long
  1411, // incorrect value for function
  1452, // foreign key
  1690, // value out of range
  4025, // CHECK constraint failed (MariaDB)
]);

/** The server refused LOAD DATA LOCAL: MariaDB 1148 / 4166, MySQL 3948 (local_infile is OFF). */
export const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

interface MysqlDriverError {
  errno?: number;
  sqlState?: string;
  code?: string;
}

/**
 * Errors that mean the connection is gone: mysql2 marks them `fatal` (socket errors, PROTOCOL_CONNECTION_LOST);
 * the server's shutdown in progress (1053), connection killed (1927), gone away / lost (2006, 2013).
 */
const CONNECTION_LOST_ERRNOS = new Set([1053, 1927, 2006, 2013]);
/** After these the same transaction can succeed when run again: lock wait timeout, deadlock. */
const TRANSIENT_ERRNOS = new Set([1205, 1213]);

/** The connection is gone (the server restarted, the network cut it): a new one is needed. */
export function isMysqlConnectionLoss(err: unknown): boolean {
  const { errno, code, fatal } = err as MysqlDriverError & { fatal?: boolean };
  if (fatal === true) return true;
  if (errno !== undefined && CONNECTION_LOST_ERRNOS.has(errno)) return true;
  if (typeof code === 'string' && /^(PROTOCOL_CONNECTION_LOST|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code)) return true;
  // mysql2 refuses a statement on a connection it already closed without a code.
  return /connection is in closed state|Connection lost/i.test(err instanceof Error ? err.message : String(err));
}

/** Wraps a driver error: data problems become TargetDataError (bisect and reject), the rest TargetError. */
export function classifyMysqlError(err: unknown, context: string): Error {
  const { errno, sqlState } = err as MysqlDriverError;
  const message = `${context}: ${errorMessage(err)}`;
  const dataClass = typeof sqlState === 'string' && (sqlState.startsWith('22') || sqlState.startsWith('23'));
  if (dataClass || (errno !== undefined && DATA_ERRNOS.has(errno))) {
    return new TargetDataError(message, sqlState && sqlState !== 'HY000' ? sqlState : String(errno), { cause: err });
  }
  if (isMysqlConnectionLoss(err)) return new TargetError('target-connection-lost', `${context}: the connection to the server was lost (${errorMessage(err)})`, { cause: err });
  if (errno !== undefined && TRANSIENT_ERRNOS.has(errno)) return new TargetError('target-busy', message, { cause: err });
  return new TargetError('target-unavailable', message, { cause: err });
}

/** How long a replaced connection waits for the run lock its lost session may still hold on the server. */
const LOCK_RETAKE_MS = 5_000;

/** `mysql://user:pass@host:port/db` (or `mariadb://`) with the password hidden. */
export function displayMysqlUrl(url: string): string {
  return redactSecrets(url);
}

/**
 * GET_LOCK names are server-wide (PostgreSQL's advisory locks are per database): the database is part of
 * the name, hashed when the result would pass MySQL's 64-character limit.
 */
export function mysqlLockName(name: string, database: string): string {
  const full = `${name}:${database}`;
  return full.length <= 64 ? full : `${name.slice(0, 30)}:${createHash('sha256').update(database).digest('hex').slice(0, 32)}`;
}

/** LOAD DATA packets: small enough for any max_allowed_packet, large enough to keep the per-packet cost low. */
const INFILE_CHUNK = 256 * 1024;

function* chunked(lines: string[]): Generator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for (const line of lines) {
    parts.push(line, '\n');
    size += line.length + 1;
    if (size >= INFILE_CHUNK) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/** mysql2's typeCast field, the part we read. */
interface CastField {
  type: string;
  length: number;
  string(encoding?: string): string | null;
}

/** Same JS values as `pg` returns: see the header. BLOB columns (and TEXT, which mysql2 decodes) are left alone. */
function typeCast(field: CastField, next: () => unknown): unknown {
  if (field.type === 'TINY' && field.length === 1) {
    const text = field.string();
    return text === null ? null : text !== '0';
  }
  // VARCHAR and VARBINARY alike arrive as VAR_STRING / STRING; MongooseIM keeps UTF-8 text in its VARBINARY columns.
  if (field.type === 'VAR_STRING' || field.type === 'STRING') return field.string('utf8');
  return next();
}

export interface OpenMysqlOptions {
  /**
   * Offer LOAD DATA LOCAL INFILE to the server (default true). False: the client never streams a file,
   * whatever the server allows (a policy that forbids it on this side).
   */
  localInfile?: boolean;
}

export async function openMysql(url: string, options: OpenMysqlOptions = {}): Promise<MysqlDatabase> {
  const mysql = (await import('mysql2/promise')).default;
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new TargetError('target-unavailable', `${displayMysqlUrl(url)} names no database: use mysql://user:password@host:port/database`);
  const ssl = parsed.searchParams.get('ssl');
  const displayName = displayMysqlUrl(url);
  type Connection = Awaited<ReturnType<typeof mysql.createConnection>>;
  const conn = await ReconnectingConnection.open<Connection>({
    displayName,
    async connect(lost) {
      const fresh = await mysql.createConnection({
        host: parsed.hostname,
        port: parsed.port ? Number(parsed.port) : 3306,
        user: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password),
        database,
        // utf8mb4 on the wire, as MongooseIM itself sets ("set names 'utf8mb4'"): 4-byte characters survive.
        charset: 'UTF8MB4_GENERAL_CI',
        // Affected rows, not found rows: a no-op ON DUPLICATE KEY UPDATE then counts 0 (a row already present).
        flags: ['-FOUND_ROWS', ...(options.localInfile === false ? ['-LOCAL_FILES'] : [])],
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        typeCast: typeCast as never,
        connectTimeout: 10_000,
        enableKeepAlive: true,
        ...(ssl === 'true' || ssl === 'required' ? { ssl: {} } : {}),
      });
      // A dropped connection surfaces here (and on the statement in flight, if any): the next statement replaces it.
      fresh.on('error', lost);
      fresh.on('end', lost);
      try {
        for (const statement of SESSION_SETUP) await fresh.query(statement);
      } catch (err) {
        await fresh.end().catch(() => undefined);
        throw err;
      }
      return fresh;
    },
    abandon: (lost) => lost.destroy(),
    end: (c) => c.end(),
    sessionId: (c) => c.threadId ?? undefined,
    async retakeLock(fresh, name, lostThread) {
      const lock = mysqlLockName(name, database);
      const deadline = Date.now() + LOCK_RETAKE_MS;
      for (;;) {
        const [got] = await fresh.query('SELECT GET_LOCK(?, 0) AS locked', [lock]);
        if (Number((got as Array<{ locked: unknown }>)[0]?.locked) === 1) return true;
        const [holder] = await fresh.query('SELECT IS_USED_LOCK(?) AS holder', [lock]);
        // Our own lost session, alive on the server only because it has not noticed its client is gone (a network
        // that fails silently): end it. Its transaction, if any, commits or rolls back whole.
        if (lostThread !== undefined && Number((holder as Array<{ holder: unknown }>)[0]?.holder) === lostThread) {
          await fresh.query(`KILL CONNECTION ${Number(lostThread)}`).catch(() => undefined);
        }
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    releaseLock: (c, name) => c.query('SELECT RELEASE_LOCK(?)', [mysqlLockName(name, database)]),
    isConnectionLoss: isMysqlConnectionLoss,
    classify: classifyMysqlError,
  });
  const session: MysqlSession = {
    async query<R>(sql: string, params?: unknown[]) {
      const used = await conn.ready();
      try {
        const [result] = await used.query(sql, params);
        if (Array.isArray(result)) return { rows: result as R[], rowCount: result.length };
        return { rows: [], rowCount: (result as { affectedRows?: number }).affectedRows ?? 0 };
      } catch (err) {
        throw conn.failed(used, err, 'query failed');
      }
    },
    async loadLocal(sql, lines) {
      const used = await conn.ready();
      try {
        const [result] = await used.query({ sql, infileStreamFactory: () => Readable.from(chunked(lines)) });
        const header = result as { affectedRows?: number; warningStatus?: number };
        return { rowCount: header.affectedRows ?? 0, warnings: header.warningStatus ?? 0 };
      } catch (err) {
        throw conn.failed(used, err, 'LOAD DATA failed');
      }
    },
  };
  const { rows } = await session.query<{ version: string; packet: string }>('SELECT VERSION() AS version, @@max_allowed_packet AS packet');
  return {
    displayName: displayMysqlUrl(url),
    kind: 'mysql',
    database,
    serverVersion: rows[0]!.version,
    maxAllowedPacket: Number(rows[0]!.packet),
    ...session,
    transaction(fn) {
      return conn.transaction(() => session.query('START TRANSACTION'), () => fn(session), () => session.query('COMMIT'), (c) => c.query('ROLLBACK'));
    },
    async lockHolder(name) {
      const { rows: used } = await session.query<{ holder: unknown }>('SELECT IS_USED_LOCK(?) AS holder', [mysqlLockName(name, database)]);
      const id = used[0]?.holder;
      if (id === null || id === undefined) return undefined;
      const { rows } = await session.query<{ user: string; host: string; time: unknown }>(
        'SELECT USER AS user, HOST AS host, TIME AS time FROM information_schema.PROCESSLIST WHERE ID = ?',
        [String(id)],
      );
      const p = rows[0];
      return p ? `MySQL connection ${String(id)} (user ${p.user}, from ${p.host}, connected ${String(p.time)} s ago)` : `MySQL connection ${String(id)}`;
    },
    async tryLock(name) {
      // Held by this connection until it closes, also when the process is killed; taken again after a reconnect.
      const { rows: got } = await session.query<{ locked: unknown }>('SELECT GET_LOCK(?, 0) AS locked', [mysqlLockName(name, database)]);
      const locked = Number(got[0]?.locked) === 1;
      if (locked) conn.holdsLock(name);
      return locked;
    },
    onReconnect(restore) {
      conn.onReconnect(restore);
    },
    close() {
      return conn.close();
    },
  };
}
