// Whole migrations through the real CLI process: PostgreSQL, MariaDB and PGlite give the same rows; a run
// killed with SIGKILL at several points and re-run gives exactly the rows of an uninterrupted run (on
// PostgreSQL and on MariaDB); bad input is rejected with its location while the rest migrates; no secret
// reaches any output or file.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMysql, mysqlLockName } from '../../src/target/mysql/mysql-database.js';
import { openPglite } from '../../src/target/postgres/postgres-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { syntheticPassword, writeSyntheticExport } from '../support/synthetic-xep0227.js';
import { FIXTURE_PASSWORDS } from '../fixtures/xep0227/generate.js';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'xep0227');
// The CLI runs from its TypeScript sources, so a test never runs a stale build.
const TSX_LOADER = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process; `killAfterBatches` SIGKILLs it after that many batches were written. */
function cli(args: string[], options: { cwd: string; killAfterBatches?: number; killDelayMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(root, 'src', 'cli', 'bin.ts'), ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let batches = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (options.killAfterBatches === undefined) return;
      batches = (stdout.match(/"event":"batch-written"/g) ?? []).length;
      if (batches >= options.killAfterBatches && child.exitCode === null && !child.killed) {
        setTimeout(() => child.kill('SIGKILL'), options.killDelayMs ?? 0);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let work: string;
let exportFile: string;
const databases: FreshDatabase[] = [];

async function freshDb(hint: string): Promise<FreshDatabase> {
  const db = await freshPostgresDatabase(hint);
  databases.push(db);
  return db;
}

async function freshMy(hint: string): Promise<FreshDatabase> {
  const db = await freshMysqlDatabase(hint);
  databases.push(db);
  return db;
}

async function dumpMy(url: string): Promise<Record<string, string[]>> {
  const db = await openMysql(url);
  try {
    return await dumpMongooseim(db, 'mysql');
  } finally {
    await db.close();
  }
}

async function seedMy(url: string, statements: string[]): Promise<void> {
  const db = await openMysql(url);
  for (const statement of statements) await db.query(statement);
  await db.close();
}

/** stderr of a run may carry notes (a bulk-path fallback while another test toggles local_infile), never errors. */
function onlyNotes(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.startsWith('note: '));
}

async function dumpPg(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await dumpMongooseim(client);
  } finally {
    await client.end();
  }
}

// Salts of passwords hashed on import derive from a per-target secret: targets compared row by row share one.
const SAME_SALT_SEED = [
  `CREATE TABLE xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`,
  `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', '${Buffer.alloc(32, 7).toString('base64')}')`,
];
// `key` is a reserved word in MySQL.
const SAME_SALT_SEED_MYSQL = [
  'CREATE TABLE xmpp_migrate_meta (`key` varchar(128) NOT NULL PRIMARY KEY, value text NOT NULL) CHARACTER SET utf8mb4',
  `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', '${Buffer.alloc(32, 7).toString('base64')}')`,
];

async function seedPg(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const statement of statements) await client.query(statement);
  await client.end();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-scenario-'));
  exportFile = join(work, 'export.xml');
  await writeSyntheticExport(exportFile, { users: 40, messagesPerUser: 50, seed: 7 });
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('a full migration', () => {
  it('writes the same rows into a real PostgreSQL server and into PGlite', async () => {
    const db = await freshDb('full_pg');
    const pgliteDir = join(work, 'pglite-full');
    const seed = SAME_SALT_SEED;
    await seedPg(db.url, seed);
    const seeded = await openPglite(pgliteDir);
    for (const statement of seed) await seeded.query(statement);
    await seeded.close();
    const toPg = await cli(['run', '--source', `xep0227:${exportFile}`, '--target', db.url, '--create-schema', '--quiet'], { cwd: work });
    expect(toPg.stderr).toBe('');
    expect(toPg.code).toBe(0);
    const toPglite = await cli(['run', '--source', `xep0227:${exportFile}`, '--target', `pglite:${pgliteDir}`, '--quiet'], { cwd: work });
    expect(toPglite.code).toBe(0);

    const fromPg = await dumpPg(db.url);
    const lite = await openPglite(pgliteDir);
    const fromPglite = await dumpMongooseim(lite);
    await lite.close();
    expect(fromPg.mam_message).toHaveLength(2000);
    expect(fromPg.users).toHaveLength(40);
    expect(fromPglite).toEqual(fromPg);

    const verified = await cli(['verify', '--source', `xep0227:${exportFile}`, '--target', db.url, '--json'], { cwd: work });
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ parity: true, archivesCompared: 40, messagesInSource: 2000, messagesInTarget: 2000 });
  });

  it('converges to the rows of an uninterrupted run when SIGKILLed mid-way, again and again', async () => {
    const baseline = await freshDb('baseline');
    await seedPg(baseline.url, SAME_SALT_SEED);
    const args = (url: string): string[] => ['run', '--source', `xep0227:${exportFile}`, '--target', url, '--create-schema', '--batch-rows', '40', '--json'];
    expect((await cli(args(baseline.url), { cwd: work })).code).toBe(0);

    const killed = await freshDb('killed');
    await seedPg(killed.url, SAME_SALT_SEED);
    // About 56 batches in all. Each run resumes where the last stopped, so the kill points add up: after the
    // first batch; 30 ms into the 13th more; 5 ms after 20 more, which still leaves a third of the run undone
    // even on a machine fast enough to write several batches within the delays.
    for (const [batches, delay] of [[1, 0], [12, 30], [20, 5]] as const) {
      const result = await cli(args(killed.url), { cwd: work, killAfterBatches: batches, killDelayMs: delay });
      expect(result.signal).toBe('SIGKILL');
    }
    const last = await cli(args(killed.url), { cwd: work });
    expect(last.code).toBe(0);
    expect(last.stdout).toContain('"startedFrom":"resumed"');

    const expected = await dumpPg(baseline.url);
    const actual = await dumpPg(killed.url);
    for (const table of Object.keys(expected)) expect({ table, rows: actual[table] }).toEqual({ table, rows: expected[table] });

    // A run after completion changes nothing.
    const again = await cli(args(killed.url), { cwd: work });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('"startedFrom":"already complete"');
    expect(await dumpPg(killed.url)).toEqual(expected);
  });

  it.each([
    ['the synthetic export', () => exportFile, 2000],
    ['the XEP-0227 v1.1 fixture', () => join(fixtures, 'full-v1.1.xml'), 6],
  ] as const)('writes the same rows from %s into PostgreSQL and MariaDB, and verifies both', async (_name, file, messages) => {
    const pgDb = await freshDb('same_pg');
    const myDb = await freshMy('same_my');
    await seedPg(pgDb.url, SAME_SALT_SEED);
    await seedMy(myDb.url, SAME_SALT_SEED_MYSQL);
    const source = `xep0227:${file()}`;
    const rejectFile = join(work, 'same-rejects.ndjson');
    const toPg = await cli(['run', '--source', source, '--target', pgDb.url, '--create-schema', '--quiet', '--reject-file', rejectFile], { cwd: work });
    const toMy = await cli(['run', '--source', source, '--target', myDb.url, '--create-schema', '--quiet', '--reject-file', rejectFile], { cwd: work });
    expect(onlyNotes(toMy.stderr)).toEqual(onlyNotes(toPg.stderr));
    expect(toMy.code).toBe(toPg.code);
    expect([0, 3]).toContain(toPg.code);

    const fromPg = await dumpPg(pgDb.url);
    const fromMy = await dumpMy(myDb.url);
    expect(fromPg.mam_message).toHaveLength(messages);
    for (const table of Object.keys(fromPg)) expect({ table, rows: fromMy[table] }).toEqual({ table, rows: fromPg[table] });

    for (const db of [pgDb, myDb]) {
      const verified = await cli(['verify', '--source', source, '--target', db.url, '--json'], { cwd: work });
      expect(JSON.parse(verified.stdout)).toMatchObject({ parity: true, messagesInTarget: messages });
    }
  });

  it('converges to the rows of an uninterrupted run on MariaDB when SIGKILLed mid-way', async () => {
    const baseline = await freshMy('my_baseline');
    await seedMy(baseline.url, SAME_SALT_SEED_MYSQL);
    const args = (url: string): string[] => ['run', '--source', `xep0227:${exportFile}`, '--target', url, '--create-schema', '--batch-rows', '40', '--json'];
    expect((await cli(args(baseline.url), { cwd: work })).code).toBe(0);

    const killed = await freshMy('my_killed');
    await seedMy(killed.url, SAME_SALT_SEED_MYSQL);
    // Counted per run, about 56 batches in all: the kills leave a good part for the last run to resume, even
    // when a fast machine writes several batches more between the event and the kill.
    for (const [batches, delay] of [[1, 0], [10, 30], [15, 5]] as const) {
      const result = await cli(args(killed.url), { cwd: work, killAfterBatches: batches, killDelayMs: delay });
      expect(result.signal).toBe('SIGKILL');
    }
    const last = await cli(args(killed.url), { cwd: work });
    expect(last.code).toBe(0);
    expect(last.stdout).toContain('"startedFrom":"resumed"');

    const expected = await dumpMy(baseline.url);
    const actual = await dumpMy(killed.url);
    for (const table of Object.keys(expected)) expect({ table, rows: actual[table] }).toEqual({ table, rows: expected[table] });
    // The killed connections' GET_LOCK went with them: a run after completion takes it and changes nothing.
    const again = await cli(args(killed.url), { cwd: work });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('"startedFrom":"already complete"');
    expect(await dumpMy(killed.url)).toEqual(expected);
  });
});

describe('bad input', () => {
  it('rejects each bad record with its location and reason, migrates the rest, and exits 3', async () => {
    const db = await freshDb('bad');
    const rejectFile = join(work, 'bad-rejects.ndjson');
    const result = await cli(['run', '--source', `xep0227:${join(fixtures, 'bad-input.xml')}`, '--target', db.url, '--create-schema', '--reject-file', rejectFile, '--quiet'], { cwd: work });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/record\(s\) rejected: reasons and locations in .*bad-rejects\.ndjson/);
    const rejects = (await readFile(rejectFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const codes = rejects.map((r) => r.code);
    for (const expected of ['invalid-jid', 'unknown-subscription', 'invalid-utf8']) expect(codes).toContain(expected);
    expect(codes.some((c: string) => /name/.test(c))).toBe(true);
    for (const reject of rejects) {
      expect(reject.reason).toEqual(expect.any(String));
      expect(reject.location.file).toMatch(/bad-input\.xml$/);
      expect(reject.location.line).toBeGreaterThan(0);
    }
    // The owner-only mode: the report can hold private messages.
    expect((await stat(rejectFile)).mode & 0o777).toBe(0o600);
    const dump = await dumpPg(db.url);
    expect(dump.users!.map((u) => JSON.parse(u).username).sort()).toEqual(expect.arrayContaining(['ok2']));
    expect(dump.rosterusers!.some((r) => JSON.parse(r).jid === 'good@bad.example')).toBe(true);
    expect(dump.mam_message!.map((m) => JSON.parse(m).search_body)).toContain('café ok');
  });
});

describe('secrets', () => {
  it('never prints or writes a DSN password, a plaintext password or a password hash', async () => {
    const db = await freshDb('secrets');
    const password = new URL(db.url).password;
    expect(password.length).toBeGreaterThan(8);
    const outputs: string[] = [];
    const rejectFile = join(work, 'secret-rejects.ndjson');
    const source = `xep0227:${join(fixtures, 'full-v1.1.xml')}`;
    for (const args of [
      ['plan', '--source', source, '--target', db.url],
      ['run', '--source', source, '--target', db.url, '--create-schema', '--dry-run', '--json', '--reject-file', rejectFile],
      ['run', '--source', source, '--target', db.url, '--create-schema', '--reject-file', rejectFile],
      ['verify', '--source', source, '--target', db.url, '--json'],
      ['status', '--target', db.url],
      ['run', '--source', source, '--target', db.url.replace(password, `${password}x`)],
      ['plan', '--source', `xep0227:${join(fixtures, 'bad-input.xml')}`, '--target', db.url, '--json'],
      ['run', '--source', `xep0227:${join(fixtures, 'bad-input.xml')}`, '--target', db.url, '--reject-file', rejectFile, '--json'],
    ]) {
      const result = await cli(args, { cwd: work });
      outputs.push(result.stdout, result.stderr);
    }
    const files = await readdir(work);
    for (const f of files.filter((f) => f.endsWith('.ndjson'))) outputs.push(await readFile(join(work, f), 'utf8'));
    const everything = outputs.join('\n');
    expect(everything).toContain('***');
    const secrets = [password, ...Object.values(FIXTURE_PASSWORDS), 'pw1', 'pw2', syntheticPassword(0)];
    // Every base64 value inside <scram-credentials> of the fixture is a hash or a salt.
    const fixtureText = await readFile(join(fixtures, 'full-v1.1.xml'), 'utf8');
    for (const m of fixtureText.matchAll(/<(?:stored-key|server-key)>([^<]+)</g)) secrets.push(m[1]!);
    for (const secret of secrets) expect({ secret, found: everything.includes(secret) }).toEqual({ secret, found: false });
  });
});

describe('the run lock', () => {
  it('refuses a second run on the same MariaDB database while one holds GET_LOCK', async () => {
    const db = await freshMy('my_locked');
    const holder = await openMysql(db.url);
    await holder.query('SELECT GET_LOCK(?, 0)', [mysqlLockName('xmpp-migrate-run', db.name)]);
    const { rows: me } = await holder.query<{ id: unknown }>('SELECT CONNECTION_ID() AS id');
    try {
      const result = await cli(['run', '--source', `xep0227:${join(fixtures, 'full-v1.1.xml')}`, '--target', db.url, '--create-schema'], { cwd: work });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/another xmpp-migrate run holds the lock/);
      // The refusal names the holder, so the operator can find it.
      expect(result.stderr).toMatch(new RegExp(`MySQL connection ${String(me[0]!.id)} \\(user \\w+, from 127\\.0\\.0\\.1:\\d+, connected \\d+ s ago\\)`));
      const { rows } = await holder.query<{ n: string }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE()');
      expect(rows[0]!.n).toBe('0');
    } finally {
      await holder.close();
    }
  });

  it('refuses a second run on the same target while one holds the lock', async () => {
    const db = await freshDb('locked');
    const holder = new pg.Client({ connectionString: db.url, application_name: 'the other run' });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(hashtext('xmpp-migrate-run'))`);
    const { rows: me } = await holder.query(`SELECT pg_backend_pid() AS pid`);
    try {
      const result = await cli(['run', '--source', `xep0227:${join(fixtures, 'full-v1.1.xml')}`, '--target', db.url, '--create-schema'], { cwd: work });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/another xmpp-migrate run holds the lock/);
      // The refusal names the holder, so the operator can find it.
      expect(result.stderr).toContain(`PostgreSQL backend pid ${me[0].pid} (the other run, user postgres, from 127.0.0.1, connected since`);
      // The lock comes first: the refused run created nothing, not even the schema.
      const { rows } = await holder.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(rows[0].n).toBe(0);
    } finally {
      await holder.end();
    }
  });
});

describe('sharded runs', () => {
  it('run side by side as --shard k/n and together write exactly the rows of one unsharded run', async () => {
    const whole = await freshDb('unsharded');
    await seedPg(whole.url, SAME_SALT_SEED);
    expect((await cli(['run', '--source', `xep0227:${exportFile}`, '--target', whole.url, '--create-schema', '--quiet'], { cwd: work })).code).toBe(0);

    const sharded = await freshDb('sharded');
    await seedPg(sharded.url, SAME_SALT_SEED);
    // The schema first, so three concurrent shards do not race to create it.
    expect((await cli(['run', '--source', `xep0227:${exportFile}`, '--target', sharded.url, '--create-schema', '--only', 'private', '--quiet'], { cwd: work })).code).toBe(0);
    const shards = await Promise.all([1, 2, 3].map((k) => cli(['run', '--source', `xep0227:${exportFile}`, '--target', sharded.url, '--shard', `${k}/3`, '--json'], { cwd: work })));
    for (const shard of shards) expect(shard.code).toBe(0);
    // Each shard wrote some of the archives, none wrote them all.
    const written = shards.map((s) => JSON.parse(s.stdout.trim().split('\n').pop()!).kinds['archived-message'].written as number);
    expect(written.every((n) => n > 0 && n < 2000)).toBe(true);
    expect(written.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(await dumpPg(sharded.url)).toEqual(await dumpPg(whole.url));
  });
});
