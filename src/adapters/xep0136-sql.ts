// The slice of a SQL client the XEP-0136 store adapters call, over `pg` (PostgreSQL) and `mysql2` (MySQL,
// MariaDB), plus the few expressions that differ between them. Only this file imports a driver.
import { SourceError, UsageError, errorMessage, redactSecrets } from '../errors.js';

export type SqlDialectName = 'pg' | 'mysql';

/** Rows per keyset query unless the `page-rows` source option says otherwise. */
export const DEFAULT_PAGE_ROWS = 1000;

/** The `page-rows` option: rows per query (memory per page against the number of queries). */
export function parsePageRows(value: string | undefined, adapter: string): number {
  if (value === undefined) return DEFAULT_PAGE_ROWS;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000) throw new UsageError(`${adapter} option page-rows=${value}: expected a whole number from 1 to 100000`);
  return n;
}

export interface SourceDatabase {
  readonly dialect: SqlDialectName;
  /** The URL with its password hidden. */
  readonly displayName: string;
  /**
   * Runs one statement. Parameters are written `$1`, `$2`… in both dialects. Rows come back with the
   * column aliases the statement gives (write them lower-case): BIGINTs as strings, byte strings as Buffers.
   */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** SQL text that differs between the dialects; everything else is written once. */
export interface SqlExpressions {
  /** The raw bytes of a text column (bodies are decoded strictly as UTF-8 by the adapter, never by the driver). */
  bytes(column: string): string;
  /** A timestamp/DATETIME column as text `YYYY-MM-DD HH:MM:SS[.ffffff]`, never converted through a time zone. */
  timeText(column: string): string;
  /** The part of a text before the first `/` (a bare JID out of a full one). */
  beforeSlash(column: string): string;
  /** The list of columns of every table in the current schema/database. */
  columnsQuery: string;
}

export const SQL_EXPRESSIONS: Record<SqlDialectName, SqlExpressions> = {
  pg: {
    // textsend: the stored bytes in the server encoding (SQL_ASCII databases can hold anything).
    bytes: (c) => `textsend(${c})`,
    timeText: (c) => `(${c})::text`,
    beforeSlash: (c) => `split_part(${c}, '/', 1)`,
    columnsQuery: `SELECT lower(table_name) AS table_name, lower(column_name) AS column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
  },
  mysql: {
    bytes: (c) => `CAST(${c} AS BINARY)`,
    timeText: (c) => `CAST(${c} AS CHAR)`,
    beforeSlash: (c) => `SUBSTRING_INDEX(${c}, '/', 1)`,
    columnsQuery: `SELECT lower(table_name) AS table_name, lower(column_name) AS column_name FROM information_schema.columns WHERE table_schema = DATABASE()`,
  },
};

/** Opens `postgres://…` or `mysql://…`; the session reads times in UTC. */
export async function openSourceDatabase(url: string, dialect: SqlDialectName): Promise<SourceDatabase> {
  const displayName = redactSecrets(url);
  if (dialect === 'pg' && !/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`expected a postgres://user:password@host:port/database URL, not ${JSON.stringify(displayName)}`);
  if (dialect === 'mysql' && !/^(mysql|mariadb):\/\//.test(url)) throw new UsageError(`expected a mysql://user:password@host:port/database URL, not ${JSON.stringify(displayName)}`);
  try {
    return dialect === 'pg' ? await openPg(url, displayName) : await openMysql(url.replace(/^mariadb:/, 'mysql:'), displayName);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new SourceError('source-unavailable', `cannot connect to ${displayName}: ${errorMessage(err)}. Check the host, port, user and that the database exists.`, { cause: err });
  }
}

async function openPg(url: string, displayName: string): Promise<SourceDatabase> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate' });
  client.on('error', () => {
    // A dropped connection surfaces on the next query.
  });
  await client.connect();
  await client.query(`SET TIME ZONE 'UTC'`);
  // A SQL_ASCII database holds whatever bytes were written. With a UTF8 client encoding the server refuses to
  // send a row holding bytes that are not UTF-8 (even through textsend), so read such databases unconverted:
  // bodies come as bytes and are decoded strictly here, row by row.
  const [encoding] = (await client.query<{ server_encoding: string }>(`SHOW server_encoding`)).rows;
  if (encoding?.server_encoding === 'SQL_ASCII') await client.query(`SET client_encoding TO 'SQL_ASCII'`);
  return {
    dialect: 'pg',
    displayName,
    async query(sql, params) {
      try {
        return (await client.query(sql, params as unknown[])).rows;
      } catch (err) {
        throw new SourceError('source-query-failed', `${displayName}: ${errorMessage(err)}`, { cause: err });
      }
    },
    close: () => client.end(),
  };
}

async function openMysql(url: string, displayName: string): Promise<SourceDatabase> {
  const mysql = (await import('mysql2/promise')).default;
  // BIGINTs as strings (MAM-scale ids exceed 2^53); DATETIMEs as text (no time zone conversion by the driver).
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, charset: 'utf8mb4' });
  conn.on('error', () => {
    // A dropped connection surfaces on the next query.
  });
  await conn.query(`SET time_zone = '+00:00'`);
  return {
    dialect: 'mysql',
    displayName,
    async query(sql, params = []) {
      const { text, values } = positional(sql, params);
      try {
        const [rows] = await conn.query(text, values);
        return rows as never[];
      } catch (err) {
        throw new SourceError('source-query-failed', `${displayName}: ${errorMessage(err)}`, { cause: err });
      }
    },
    close: () => conn.end(),
  };
}

/** `$n` placeholders → `?` with the values in placeholder order (a `$n` may repeat). */
function positional(sql: string, params: unknown[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    values.push(params[Number(n) - 1]);
    return '?';
  });
  return { text, values };
}

/** Reads which tables and columns exist, lower-cased: `table → set of columns`. */
export async function describeTables(db: SourceDatabase): Promise<Map<string, Set<string>>> {
  const rows = await db.query<{ table_name: string; column_name: string }>(SQL_EXPRESSIONS[db.dialect].columnsQuery);
  const tables = new Map<string, Set<string>>();
  for (const row of rows) {
    const table = String(row.table_name);
    if (!tables.has(table)) tables.set(table, new Set());
    tables.get(table)!.add(String(row.column_name));
  }
  return tables;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes stored bytes as UTF-8; undefined when they are not UTF-8. */
export function decodeUtf8(bytes: Buffer | Uint8Array | string | null | undefined): string | undefined | null {
  if (bytes === null || bytes === undefined) return null;
  if (typeof bytes === 'string') return bytes;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * `YYYY-MM-DD HH:MM:SS[.ffffff]` (a SQL timestamp read as text, UTC; an offset such as `+00` is honoured) → µs
 * since the epoch; undefined for anything else (MySQL's zero date, PostgreSQL's ±infinity, dates before 1970).
 */
export function parseSqlTime(text: string | null | undefined): bigint | undefined {
  if (text === null || text === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?)?$/.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return undefined;
  const offsetMinutes = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0));
  const micros = BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0')) - BigInt(offsetMinutes) * 60_000_000n;
  return micros < 0n ? undefined : micros;
}
