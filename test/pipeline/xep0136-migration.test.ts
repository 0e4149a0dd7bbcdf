// A whole XEP-0136 migration through the real CLI: an ejabberd mod_archive_odbc database (real PostgreSQL,
// whole-second times, overlapping collections, ties, notes, bad rows) into a fresh MongooseIM PostgreSQL with
// --create-schema. Every MAM id decodes to exactly the expected µs; verify reports parity; a run SIGKILLed
// mid-way and resumed gives the rows of an uninterrupted one.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { ejabberdXep0136Schema } from '../fixtures/xep0136/ejabberd-schema.js';
import { seedDb } from '../fixtures/xep0136/seed-db.js';

const root = join(import.meta.dirname, '..', '..');
const TSX_LOADER = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string, killAfterBatches?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(root, 'src', 'cli', 'bin.ts'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (killAfterBatches !== undefined && (stdout.match(/"event":"batch-written"/g) ?? []).length >= killAfterBatches && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** mulberry32: the same archive on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Expected {
  owner: string;
  second: number;
  id: number;
  body: string;
}

const databases: FreshDatabase[] = [];
let work: string;
let sourceUrl: string;
const expected: Expected[] = [];
const USERS = 12;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-xep0136-scenario-'));
  const source = await freshPostgresDatabase('xep0136_scenario_src');
  databases.push(source);
  sourceUrl = source.url;
  const seed = await seedDb('pg', source.url);
  for (const statement of ejabberdXep0136Schema('mod_archive_odbc', 'pg')) await seed.exec(statement);
  const next = random(5);
  const base = Date.UTC(2008, 2, 30, 0, 30, 0) / 1000; // the night of the EU daylight-saving change, in UTC
  let collId = 0;
  let msgId = 0;
  const rows: string[] = [];
  const colls: string[] = [];
  const time = (s: number): string => new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19);
  for (let u = 0; u < USERS; u++) {
    const owner = `user${u}@example.com`;
    for (let c = 0; c < 3; c++) {
      for (let session = 0; session < 2; session++) {
        const id = ++collId;
        // Sessions with the three contacts overlap: each starts within a few seconds of the others.
        let t = base + session * 3600 + c * 3 + Math.floor(next() * 3);
        colls.push(`(${id}, '${owner}', 'contact${c}', 'example.org', '', '${time(t)}', 0)`);
        for (let m = 0; m < 8; m++) {
          const gap = Math.floor(next() * 4); // 0 → a tie with the previous message
          t += gap;
          const dir = m === 5 && c === 1 ? 2 : next() < 0.5 ? 0 : 1;
          const mid = ++msgId;
          const body = `message ${mid} of user${u}`; // search_body keeps it as it is
          rows.push(`(${mid}, ${id}, '${time(t)}', ${dir}, '${body}', '')`);
          if (dir !== 2) expected.push({ owner, second: t, id: mid, body });
        }
      }
    }
  }
  // One long conversation: its 450 messages reach the writer as several slices (at most 200 entries each).
  {
    const id = ++collId;
    let t = base + 7200;
    colls.push(`(${id}, 'user0@example.com', 'chatty', 'example.org', 'desk', '${time(t)}', 0)`);
    for (let m = 0; m < 450; m++) {
      t += m % 3 === 0 ? 0 : 1;
      const mid = ++msgId;
      const body = `long ${mid} of user0`;
      rows.push(`(${mid}, ${id}, '${time(t)}', ${m % 2}, '${body}', '')`);
      expected.push({ owner: 'user0@example.com', second: t, id: mid, body });
    }
  }
  // Bad rows: an unknown direction code and a time before 1970; they are rejected, the rest migrates.
  rows.push(`(${++msgId}, 1, '${time(base + 5)}', 9, 'unknown direction', '')`);
  rows.push(`(${++msgId}, 2, '1969-07-20 20:17:40', 0, 'before 1970', '')`);
  await seed.exec(`INSERT INTO archive_collections (id, us, with_user, with_server, with_resource, utc, deleted) VALUES ${colls.join(', ')}`);
  await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES ${rows.join(', ')}`);
  await seed.close();
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

/** What the MAM ids must decode to: per owner in (time, row id) order, each tie 1 µs after the one before. */
function expectedRows(): string[] {
  const out: string[] = [];
  const byOwner = new Map<string, Expected[]>();
  for (const e of expected) byOwner.set(e.owner, [...(byOwner.get(e.owner) ?? []), e]);
  for (const [owner, list] of byOwner) {
    list.sort((a, b) => a.second - b.second || a.id - b.id);
    let previous = -1n;
    for (const e of list) {
      const micros = BigInt(e.second) * 1_000_000n;
      const assigned = micros <= previous ? previous + 1n : micros;
      previous = assigned;
      out.push(`${owner} ${assigned} ${e.body}`);
    }
  }
  return out.sort();
}

async function mamRows(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ owner: string; id: string; search_body: string }>(
      `SELECT u.user_name || '@' || u.server AS owner, m.id::text AS id, m.search_body FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id`,
    );
    return rows.map((r) => `${r.owner} ${BigInt(r.id) >> 8n} ${r.search_body}`).sort();
  } finally {
    await client.end();
  }
}

async function dump(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await dumpMongooseim(client);
  } finally {
    await client.end();
  }
}

describe('an ejabberd mod_archive_odbc archive migrated with run', () => {
  it('gives MAM ids that decode to exactly the expected µs, rejects the bad rows with their keys, and verify reports parity', async () => {
    const target = await freshPostgresDatabase('xep0136_scenario_target');
    databases.push(target);
    const source = `ejabberd-xep0136+pg:${sourceUrl}`;
    const run = await cli(['run', '--source', source, '--target', target.url, '--create-schema', '--json', '--reject-file', join(work, 'rejects.ndjson')], work);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3); // finished, with rejects
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(summary.kinds['archived-message'].written).toBe(expected.length);
    expect(summary.kinds['legacy-collection'].skipped).toBe(USERS * 2); // the notes
    expect(await mamRows(target.url)).toEqual(expectedRows());
    const rejects = (await readFile(join(work, 'rejects.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.map((r) => [r.code, r.location.table, r.location.key]).sort()).toEqual([
      ['invalid-time', 'archive_messages', `id=${expected.length + USERS * 2 + 2}`],
      ['unknown-direction', 'archive_messages', `id=${expected.length + USERS * 2 + 1}`],
    ]);

    const verified = await cli(['verify', '--source', source, '--target', target.url, '--json'], work);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ parity: true, archivesCompared: USERS, messagesInSource: expected.length, messagesInTarget: expected.length });
  });

  it('converges to the rows of an uninterrupted run when SIGKILLed mid-way', async () => {
    const source = `ejabberd-xep0136+pg:${sourceUrl}`;
    const args = (url: string): string[] => ['run', '--source', source, '--target', url, '--create-schema', '--batch-rows', '40', '--json', '--reject-file', join(work, 'r.ndjson')];
    const baseline = await freshPostgresDatabase('xep0136_baseline');
    databases.push(baseline);
    expect((await cli(args(baseline.url), work)).code).toBe(3);
    const killed = await freshPostgresDatabase('xep0136_killed');
    databases.push(killed);
    for (const batches of [2, 7]) expect((await cli(args(killed.url), work, batches)).signal).toBe('SIGKILL');
    const last = await cli(args(killed.url), work);
    expect(last.stdout).toContain('"startedFrom":"resumed"');
    expect(await dump(killed.url)).toEqual(await dump(baseline.url));
    expect(await mamRows(killed.url)).toEqual(expectedRows());
  });
});
