// The test harness itself: the servers global-setup.ts starts, the database helpers, and `erl`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { freshMysqlDatabase, freshPostgresDatabase, runErl } from './databases.js';

const execFileP = promisify(execFile);

describe('PostgreSQL test server', () => {
  it('is PostgreSQL 15 on the provided URL, with password login over TCP', async () => {
    const server = inject('xmigPostgres');
    if (!server.reused) expect(server.url).toMatch(/^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/postgres$/);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; super: boolean }>(
        "select version() as version, current_setting('is_superuser') = 'on' as super",
      );
      expect(rows[0]?.version).toMatch(/^PostgreSQL 15\./);
      expect(rows[0]?.super).toBe(true);
    } finally {
      await client.end();
    }
  });

  // The secrets tests rely on a real password check; a reused server (XMIG_TEST_PG_URL) must use one too.
  it('refuses a wrong password over TCP', async () => {
    const url = new URL(inject('xmigPostgres').url);
    url.password = 'wrong';
    const client = new pg.Client({ connectionString: url.toString() });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('creates, uses and drops a fresh database', async () => {
    const db = await freshPostgresDatabase('harness');
    expect(db.name).toMatch(/^xmig_harness_/);
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {}); // the forced drop below ends this session on purpose
    await client.connect();
    const { rows } = await client.query<{ db: string; encoding: string }>(
      "select current_database() as db, pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()",
    );
    expect(rows).toEqual([{ db: db.name, encoding: 'UTF8' }]);
    // The drop must not be blocked by a session a test forgot to close.
    await db.drop();
    await client.end().catch(() => {});
    const admin = new pg.Client({ connectionString: inject('xmigPostgres').url });
    await admin.connect();
    try {
      const left = await admin.query('select 1 from pg_database where datname = $1', [db.name]);
      expect(left.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
    await db.drop(); // idempotent
  });
});

describe('MariaDB test server', () => {
  it('is MariaDB 10.11 on the provided URL', async () => {
    const conn = await mysql.createConnection(inject('xmigMysql').url);
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('select version() as version');
      expect(rows[0]?.['version']).toMatch(/^10\.11\.\d+-MariaDB/);
    } finally {
      await conn.end();
    }
  });

  it('creates, uses and drops a fresh utf8mb4 database', async () => {
    const db = await freshMysqlDatabase('harness');
    const conn = await mysql.createConnection({ uri: db.url, supportBigNumbers: true, bigNumberStrings: true });
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'select database() as db, @@character_set_database as charset',
      );
      expect(rows[0]).toEqual({ db: db.name, charset: 'utf8mb4' });
      await conn.query('create table t (id bigint unsigned primary key, txt text)');
      await conn.query('insert into t values (?, ?)', ['436252262431604736', 'ünïcødé 😀']);
      const [back] = await conn.query<mysql.RowDataPacket[]>('select id, txt from t');
      expect(back).toEqual([{ id: '436252262431604736', txt: 'ünïcødé 😀' }]);
    } finally {
      await conn.end();
    }
    await db.drop();
    const admin = await mysql.createConnection(inject('xmigMysql').url);
    try {
      const [left] = await admin.query<mysql.RowDataPacket[]>(
        'select schema_name from information_schema.schemata where schema_name = ?',
        [db.name],
      );
      expect(left).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

describe('environment for child processes', () => {
  it('exports both admin URLs, so a spawned CLI finds the servers', async () => {
    const { stdout } = await execFileP(process.execPath, [
      '-e',
      'console.log(JSON.stringify([process.env.XMIG_TEST_PG_URL, process.env.XMIG_TEST_MYSQL_URL]))',
    ]);
    expect(JSON.parse(stdout)).toEqual([inject('xmigPostgres').url, inject('xmigMysql').url]);
  });
});

describe('runErl', () => {
  it('evaluates binary_to_term of a small term', async () => {
    const out = await runErl('io:format("~p~n", [binary_to_term(<<131,104,2,100,0,2,111,107,109,0,0,0,3,97,98,99>>)])');
    expect(out).toBe('{ok,<<"abc">>}\n');
  });

  it('binds bytes from Node to a variable and prints Unicode with ~tp', async () => {
    // {ok, <<"ü"/utf8>>} as ETF: SMALL_TUPLE_EXT 2, SMALL_ATOM_UTF8_EXT "ok", BINARY_EXT 2 bytes.
    const etf = Uint8Array.from([131, 104, 2, 119, 2, 111, 107, 109, 0, 0, 0, 2, 0xc3, 0xbc]);
    const out = await runErl('{ok, B} = binary_to_term(Term), io:format("~ts|~tp~n", [B, binary_to_term(Term)]).', {
      bindings: { Term: etf },
    });
    expect(out).toBe('ü|{ok,<<"ü"/utf8>>}\n');
  });

  it('rejects with the Erlang error when the program raises', async () => {
    await expect(runErl('binary_to_term(<<1,2,3>>)')).rejects.toThrow(/badarg/);
  });
});
