// Test helpers on top of the servers started by global-setup.ts: throwaway databases, and `erl` for
// checking Erlang terms with real Erlang (erlang-base, shared/docs/test-servers.md §6).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import type { TestServer } from './global-setup.js';

export type { TestServer };

/** A database that exists only for one test file (or one test). */
export interface FreshDatabase {
  /** The generated, unique database name. */
  name: string;
  /** Connection URL of the database, as the superuser-capable test user. */
  url: string;
  /** Drops the database, closing connections still open on it (PG) or not (MariaDB). Safe to call twice. */
  drop(): Promise<void>;
}

let counter = 0;

/** `xmig_<hint>_<pid>_<n>_<random>`: unique across parallel workers and reruns against reused servers. */
function uniqueName(hint: string | undefined): string {
  const slug = (hint ?? 'db').toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 24);
  return `xmig_${slug}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
}

export function postgresServer(): TestServer {
  return inject('xmigPostgres');
}

export function mysqlServer(): TestServer {
  return inject('xmigMysql');
}

/**
 * Creates an empty UTF-8 database on the test PostgreSQL 15. `hint` becomes part of the name, which is
 * always made unique.
 */
export async function freshPostgresDatabase(hint?: string): Promise<FreshDatabase> {
  const server = postgresServer();
  const name = uniqueName(hint);
  await withPgAdmin(server.url, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  let dropped = false;
  return {
    name,
    url: withDatabase(server.url, name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      // FORCE (PG ≥ 13) ends sessions a test left open instead of failing the drop.
      await withPgAdmin(server.url, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * Creates an empty utf8mb4 database on the test MariaDB 10.11. Connect with
 * `supportBigNumbers: true, bigNumberStrings: true`: MAM ids exceed 2^53.
 */
export async function freshMysqlDatabase(hint?: string): Promise<FreshDatabase> {
  const server = mysqlServer();
  const name = uniqueName(hint);
  await withMysqlAdmin(server.url, (admin) => admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`));
  let dropped = false;
  return {
    name,
    url: withDatabase(server.url, name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withMysqlAdmin(server.url, (admin) => admin.query(`DROP DATABASE IF EXISTS \`${name}\``));
    },
  };
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withPgAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function withMysqlAdmin<T>(url: string, fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection(url);
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

export interface RunErlOptions {
  /**
   * Erlang variables bound before the program runs, each to a binary with these bytes (strings as UTF-8),
   * e.g. `{ Term: etfBytes }` then `binary_to_term(Term)`. Passed through files, so size is not limited.
   */
  bindings?: Record<string, Uint8Array | string>;
  /** Kill `erl` after this long. Default 30 s. */
  timeoutMs?: number;
}

/**
 * Runs Erlang expressions with `erl -noshell` and returns what they print on stdout (UTF-8; standard_io is
 * set to unicode, so use `~tp` / `~ts` for non-ASCII). `program` is a comma-separated expression sequence
 * (a trailing `.` is allowed; do not call `halt()`): `io:format("~tp~n", [binary_to_term(Term)])`.
 * Rejects with Erlang's error and stack when an expression raises or `erl` exits non-zero.
 */
export async function runErl(program: string, options: RunErlOptions = {}): Promise<string> {
  const bindings = Object.entries(options.bindings ?? {});
  for (const [variable] of bindings) {
    if (!/^[A-Z][A-Za-z0-9_]*$/.test(variable)) throw new Error(`runErl: ${variable} is not an Erlang variable name`);
  }
  const dir = bindings.length > 0 ? await mkdtemp(join(tmpdir(), 'xmig-erl-')) : undefined;
  try {
    const reads: string[] = [];
    for (const [variable, value] of bindings) {
      const file = join(dir!, `${variable}.bin`);
      await writeFile(file, value);
      // Erlang string literal of the path: escape backslashes and quotes.
      reads.push(`{ok, ${variable}} = file:read_file("${file.replace(/[\\"]/g, '\\$&')}")`);
    }
    const body = program.trim().replace(/\.\s*$/, '');
    const script =
      'io:setopts(standard_io, [{encoding, unicode}]), ' +
      'XmigStatus = try begin ' +
      [...reads, body].join(', ') +
      ' end of _ -> 0 catch XmigClass:XmigReason:XmigStack -> ' +
      'io:format(standard_error, "~tp:~tp~n~tp~n", [XmigClass, XmigReason, XmigStack]), 1 end, ' +
      'halt(XmigStatus).';
    return await new Promise<string>((resolve, reject) => {
      execFile(
        'erl',
        ['-noshell', '-eval', script],
        { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 << 20, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`erl failed: ${err.message}\n${stderr}\nstdout: ${stdout}`, { cause: err }));
          else resolve(stdout);
        },
      );
    });
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
