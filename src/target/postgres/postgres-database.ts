// One connection to a PostgreSQL-family target: a real server through `pg` (COPY via pg-copy-streams)
// or the embedded PGlite. The writer above it sees one interface and never branches on which.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TargetError, errorMessage, redactSecrets } from '../../errors.js';
import type { SqlDatabase, SqlSession } from '../sql-database.js';
import { TargetDataError } from '../target.js';

export interface PgSession extends SqlSession {
  /** COPY table (columns) FROM STDIN in text format. */
  copyFrom(table: string, columns: string[], data: Buffer): Promise<void>;
}

export interface PostgresDatabase extends SqlDatabase<PgSession>, PgSession {
  readonly kind: 'postgres' | 'pglite';
}

// SQLSTATE classes that mean "this data is wrong" (22 data exception, 23 integrity constraint), as opposed
// to "the database is unreachable" or "the schema is not what we expect" (42), which no bisection can fix.
const DATA_ERROR_CLASSES = new Set(['22', '23']);

/** Wraps a driver error: data problems become TargetDataError (bisect and reject), the rest TargetError. */
export function classifyError(err: unknown, context: string): Error {
  const code = (err as { code?: unknown }).code;
  const message = `${context}: ${errorMessage(err)}`;
  if (typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.has(code.slice(0, 2))) {
    return new TargetDataError(message, code, { cause: err });
  }
  return new TargetError('target-unavailable', message, { cause: err });
}

/** `postgres://user:pass@host:port/db` with the password hidden. */
export function displayUrl(url: string): string {
  return redactSecrets(url);
}

export async function openPostgres(url: string): Promise<PostgresDatabase> {
  const pg = (await import('pg')).default;
  const { from: copyFromStdin } = await import('pg-copy-streams');
  const client = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate' });
  client.on('error', () => {
    // A dropped connection surfaces on the next query as an error; nothing to do here.
  });
  try {
    await client.connect();
  } catch (err) {
    throw new TargetError('target-unavailable', `cannot connect to ${displayUrl(url)}: ${errorMessage(err)}. Check the host, port, user and that the database exists.`, { cause: err });
  }
  const session: PgSession = {
    async query(sql, params) {
      try {
        const result = await client.query(sql, params as unknown[]);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      } catch (err) {
        throw classifyError(err, 'query failed');
      }
    },
    async copyFrom(table, columns, data) {
      try {
        const stream = client.query(copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
        await pipeline(Readable.from([data]), stream);
      } catch (err) {
        throw classifyError(err, `COPY into ${table} failed`);
      }
    },
  };
  return {
    displayName: displayUrl(url),
    kind: 'postgres',
    ...session,
    async transaction(fn) {
      await session.query('BEGIN');
      try {
        const result = await fn(session);
        await session.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async tryLock(name) {
      const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
      return rows[0]?.locked === true;
    },
    async close() {
      await client.end().catch(() => undefined);
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
    async copyFrom(table, columns, data) {
      try {
        await q.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob([new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength)]) });
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
