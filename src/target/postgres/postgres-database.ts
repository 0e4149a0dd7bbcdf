// One connection to a PostgreSQL-family target: a real server through `pg` (COPY via pg-copy-streams)
// or the embedded PGlite. The writer above it sees one interface and never branches on which.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TargetError, errorMessage, redactSecrets } from '../../errors.js';
import { ReconnectingConnection } from '../reconnecting-connection.js';
import type { SqlDatabase, SqlSession } from '../sql-database.js';
import { TargetDataError } from '../target.js';

export interface PgSession extends SqlSession {
  /** COPY table (columns) FROM STDIN, `data` in text format or (format 'binary') in binary format. */
  copyFrom(table: string, columns: string[], data: Buffer, format?: 'text' | 'binary'): Promise<void>;
}

export interface PostgresDatabase extends SqlDatabase<PgSession>, PgSession {
  readonly kind: 'postgres' | 'pglite';
}

// SQLSTATE classes that mean "this data is wrong" (22 data exception, 23 integrity constraint), as opposed
// to "the database is unreachable" or "the schema is not what we expect" (42), which no bisection can fix.
const DATA_ERROR_CLASSES = new Set(['22', '23']);

/**
 * Node's socket errors, and SQLSTATEs besides class 08 (connection exception), that mean the connection is gone
 * or the server is not taking connections yet: admin shutdown (a fast or immediate stop), crash shutdown, cannot
 * connect now (starting up or shutting down).
 */
const CONNECTION_LOST_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', '57P01', '57P02', '57P03']);
/** SQLSTATEs after which the same transaction can succeed when run again: serialization failure, deadlock, lock timeout. */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03']);

/** The connection is gone (the server restarted, the network cut it): a new one is needed. */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_LOST_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // pg reports a connection that ended under a query, or a client whose connection failed, without a code.
  return /Connection terminated|not queryable|Connection ended|connection timeout/i.test(err instanceof Error ? err.message : String(err));
}

/** Wraps a driver error: data problems become TargetDataError (bisect and reject), the rest TargetError. */
export function classifyError(err: unknown, context: string): Error {
  const code = (err as { code?: unknown }).code;
  const message = `${context}: ${errorMessage(err)}`;
  if (typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.has(code.slice(0, 2))) {
    return new TargetDataError(message, code, { cause: err });
  }
  if (isConnectionLoss(err)) return new TargetError('target-connection-lost', `${context}: the connection to the server was lost (${errorMessage(err)})`, { cause: err });
  if (typeof code === 'string' && TRANSIENT_SQLSTATES.has(code)) return new TargetError('target-busy', message, { cause: err });
  return new TargetError('target-unavailable', message, { cause: err });
}

/** A new connection gives up after this long (pg's default is to wait forever). */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a replaced connection waits for the run lock its lost session still holds on the server. */
const LOCK_RETAKE_MS = 5_000;

/** `postgres://user:pass@host:port/db` with the password hidden. */
export function displayUrl(url: string): string {
  return redactSecrets(url);
}

export async function openPostgres(url: string): Promise<PostgresDatabase> {
  const pg = (await import('pg')).default;
  const { from: copyFromStdin } = await import('pg-copy-streams');
  type Client = InstanceType<typeof pg.Client>;
  const displayName = displayUrl(url);
  const conn = await ReconnectingConnection.open<Client>({
    displayName,
    async connect(lost) {
      const fresh = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate', connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
      // A dropped connection surfaces here (and on the statement in flight, if any): the next statement replaces it.
      fresh.on('error', lost);
      fresh.on('end', lost);
      try {
        await fresh.connect();
      } catch (err) {
        await fresh.end().catch(() => undefined);
        throw err;
      }
      return fresh;
    },
    abandon: (lost) => void lost.end().catch(() => undefined),
    end: (c) => c.end(),
    sessionId: (c) => (c as unknown as { processID?: number }).processID ?? undefined,
    async retakeLock(fresh, name, lostPid) {
      const deadline = Date.now() + LOCK_RETAKE_MS;
      for (;;) {
        const { rows } = await fresh.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
        if (rows[0]?.locked === true) return true;
        if (lostPid !== undefined) {
          // Our own lost session, alive on the server only because it has not noticed its client is gone (a network
          // that fails silently): end it. Its transaction, if any, commits or rolls back whole.
          await fresh.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted`, [lostPid]);
        }
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    releaseLock: (c, name) => c.query('SELECT pg_advisory_unlock(hashtext($1))', [name]),
    isConnectionLoss,
    classify: classifyError,
  });
  const session: PgSession = {
    async query(sql, params) {
      const used = await conn.ready();
      try {
        const result = await used.query(sql, params as unknown[]);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      } catch (err) {
        throw conn.failed(used, err, 'query failed');
      }
    },
    async copyFrom(table, columns, data, format = 'text') {
      const used = await conn.ready();
      try {
        const stream = used.query(copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`));
        await pipeline(Readable.from([data]), stream);
      } catch (err) {
        throw conn.failed(used, err, `COPY into ${table} failed`);
      }
    },
  };
  return {
    displayName,
    kind: 'postgres',
    ...session,
    transaction(fn) {
      return conn.transaction(() => session.query('BEGIN'), () => fn(session), () => session.query('COMMIT'), (c) => c.query('ROLLBACK'));
    },
    async lockHolder(name) {
      // pg_advisory_lock(bigint) shows its key as classid (high 32 bits) and objid (low 32 bits).
      const { rows } = await session.query<{ pid: number; application_name: string; client_addr: string | null; usename: string; backend_start: string }>(
        `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.usename, date_trunc('second', a.backend_start)::text AS backend_start
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.objid::bigint = (hashtext($1)::bigint & 4294967295) AND l.classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295)`,
        [name],
      );
      const h = rows[0];
      if (!h) return undefined;
      return `PostgreSQL backend pid ${h.pid} (${h.application_name || 'no application name'}, user ${h.usename}, from ${h.client_addr ?? 'a local socket'}, connected since ${h.backend_start})`;
    },
    async tryLock(name) {
      const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
      const locked = rows[0]?.locked === true;
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

/** The embedded rehearsal database: PostgreSQL in WASM, persisted in a directory (or memory for `memory`). */
export async function openPglite(location: string): Promise<PostgresDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  const inMemory = location === '' || location === 'memory';
  const dataDir = inMemory ? undefined : resolve(location);
  if (dataDir) await mkdir(dirname(dataDir), { recursive: true });
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create(dataDir ? { dataDir } : {});
  } catch (err) {
    throw new TargetError('target-unavailable', `cannot open the PGlite database in ${location}: ${errorMessage(err)}`, { cause: err });
  }
  let lockFile: string | undefined;
  const wrap = (q: { query: typeof db.query }): PgSession => ({
    async query(sql, params) {
      try {
        const result = await q.query(sql, params as unknown[]);
        return { rows: result.rows as never[], rowCount: result.affectedRows ?? result.rows.length };
      } catch (err) {
        throw classifyError(err, 'query failed');
      }
    },
    async copyFrom(table, columns, data, format = 'text') {
      try {
        await q.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'${format === 'binary' ? ' (FORMAT binary)' : ''}`, [], { blob: new Blob([new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength)]) });
      } catch (err) {
        throw classifyError(err, `COPY into ${table} failed`);
      }
    },
  });
  const session = wrap(db);
  return {
    displayName: inMemory ? 'pglite:memory' : `pglite:${location}`,
    kind: 'pglite',
    ...session,
    transaction(fn) {
      return db.transaction((tx) => fn(wrap(tx)));
    },
    async lockHolder() {
      if (!lockFile) return undefined;
      const pid = (await readFile(lockFile, 'utf8').catch(() => '')).trim();
      return pid ? `process ${pid} on this machine (lock file ${lockFile})` : undefined;
    },
    async tryLock(name) {
      if (!dataDir) return true;
      // PGlite has no server to hold an advisory lock: a lock file with our pid stands in.
      lockFile = join(dataDir, `.xmpp-migrate-${name.replace(/[^A-Za-z0-9_-]/g, '_')}.lock`);
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const handle = await open(lockFile, 'wx');
          await handle.writeFile(String(process.pid));
          await handle.close();
          return true;
        } catch {
          const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
          if (holder && isAlive(holder)) return false;
          await rm(lockFile, { force: true }); // left by a killed run
        }
      }
      return false;
    },
    onReconnect() {
      // One process, no connection to lose.
    },
    async close() {
      if (lockFile) await rm(lockFile, { force: true });
      await db.close().catch(() => undefined);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
