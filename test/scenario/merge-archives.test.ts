// A deployment with both stores: ejabberd's mod_mam `archive` and its XEP-0136 mod_archive_odbc tables, in
// one PostgreSQL database, hold the same conversation (the MAM copy with µs times, the XEP-0136 copy with
// whole seconds) plus history only one of them has. Migrated one after the other with --merge-archives, into
// PostgreSQL and MariaDB, each message lands once; without it, the shared messages land twice. Two equal
// messages of one store stay two.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { loadPgSchema, schemaFile } from '../fixtures/ejabberd/helpers.js';
import { ejabberdXep0136Schema } from '../fixtures/xep0136/ejabberd-schema.js';
import { seedDb } from '../fixtures/xep0136/seed-db.js';

const D = 'example.com';
const T0 = Date.UTC(2020, 0, 1, 10, 0, 0) * 1000; // µs

/** [µs after T0, 'out' | 'in', body]: what mod_mam archived for alice (bob is the peer). */
const MAM: Array<[number, 'out' | 'in', string]> = [
  [300_000, 'out', 'hello'],
  [1_200_000, 'in', 'hi there'],
  [1_600_000, 'in', 'ok'],
  [1_900_000, 'in', 'ok'], // the same words twice within a second: two messages of one store, both kept
  [100_500_000, 'out', 'only in the MAM store'],
];
/** [seconds after T0, dir (0 from, 1 to), body]: mod_archive_odbc's copy, whole seconds, plus older history. */
const XEP0136: Array<[number, 0 | 1, string]> = [
  [-3600, 1, 'before MAM was enabled'],
  [0, 1, 'hello'],
  [1, 0, 'hi there'],
  [1, 0, 'ok'],
  [2, 0, 'ok'],
];

const databases: FreshDatabase[] = [];
let work: string;
let sourceUrl: string;

async function fresh(kind: 'pg' | 'mysql', hint: string): Promise<FreshDatabase> {
  const db = kind === 'pg' ? await freshPostgresDatabase(hint) : await freshMysqlDatabase(hint);
  databases.push(db);
  return db;
}

async function cli(args: string[]): Promise<{ code: number; summary: { kinds: Record<string, { written: number; merged: number; present: number }> } }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (s) => void (stdout += s) }, stderr: { write: (s) => void (stderr += s) } });
  expect(stderr).toBe('');
  return { code, summary: JSON.parse(stdout.trim().split('\n').at(-1)!) };
}

/** alice's archive in the target: search_body (which the default settings fill) in MAM id order. */
async function bodies(kind: 'pg' | 'mysql', url: string): Promise<string[]> {
  const sql = `SELECT m.search_body AS body FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'alice' ORDER BY m.id`;
  if (kind === 'pg') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ body: string }>(sql)).rows.map((r) => r.body);
    } finally {
      await client.end();
    }
  }
  const db = await openMysql(url);
  try {
    return (await db.query<{ body: string }>(sql)).rows.map((r) => r.body);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-merge-'));
  const source = await fresh('pg', 'merge_src');
  sourceUrl = source.url;
  await loadPgSchema(source.url, schemaFile('pg.new.sql'));
  const seed = await seedDb('pg', source.url);
  for (const statement of ejabberdXep0136Schema('mod_archive_odbc', 'pg')) await seed.exec(statement);
  for (const [offset, dir, body] of MAM) {
    const [from, to] = dir === 'out' ? [`alice@${D}/phone`, `bob@${D}/pc`] : [`bob@${D}/pc`, `alice@${D}/phone`];
    await seed.insert('archive', {
      username: 'alice', server_host: D, timestamp: String(T0 + offset), peer: `bob@${D}/pc`, bare_peer: `bob@${D}`,
      xml: `<message xmlns="jabber:client" from="${from}" to="${to}" type="chat"><body>${body}</body></message>`, txt: body, kind: 'chat', nick: '',
    });
  }
  const seconds = (s: number): string => new Date(T0 / 1000 + s * 1000).toISOString().replace('T', ' ').slice(0, 19);
  await seed.insert('archive_collections', { id: 1, us: `alice@${D}`, with_user: 'bob', with_server: D, with_resource: 'pc', utc: seconds(-3600), deleted: 0 });
  let id = 0;
  for (const [offset, dir, body] of XEP0136) await seed.insert('archive_messages', { id: ++id, coll_id: 1, utc: seconds(offset), dir, body, name: '' });
  await seed.close();
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe.each(['pg', 'mysql'] as const)('--merge-archives into %s', (kind) => {
  it('writes each message once when both stores are migrated, and twice without it', async () => {
    const run = (store: string, url: string, merge: boolean): Promise<Awaited<ReturnType<typeof cli>>> =>
      cli(['run', '--source', `${store}:${sourceUrl}`, '--target', url, '--create-schema', '--json', '--reject-file', join(work, 'r.ndjson'), ...(merge ? ['--merge-archives'] : [])]);

    const merged = await fresh(kind, 'merge_tgt');
    const mam = await run('ejabberd+pg', merged.url, true);
    expect(mam.code).toBe(0);
    expect(mam.summary.kinds['archived-message']).toMatchObject({ written: 5, merged: 0 });
    const legacy = await run('ejabberd-xep0136+pg', merged.url, true);
    expect(legacy.code).toBe(0);
    expect(legacy.summary.kinds['archived-message']).toMatchObject({ written: 1, merged: 4 });
    expect(await bodies(kind, merged.url)).toEqual(['before mam was enabled', 'hello', 'hi there', 'ok', 'ok', 'only in the mam store']);

    // Read again (a delta pass re-reads this store): what this migration wrote is present, what it merged is merged again.
    const again = await cli(['run', '--delta', '--source', `ejabberd-xep0136+pg:${sourceUrl}`, '--target', merged.url, '--json', '--reject-file', join(work, 'r.ndjson'), '--merge-archives']);
    expect(again.code).toBe(0);
    expect(again.summary.kinds['archived-message']).toMatchObject({ written: 0, merged: 4, present: 1 });
    expect(await bodies(kind, merged.url)).toHaveLength(6);

    // Cutover of the second store: its final delta merges again, and verify passes alice's archive by count
    // (its hash cannot match: the shared messages are the MAM store's copies). Plain verify reports it.
    let out = '';
    const cut = await main(['cutover', '--source', `ejabberd-xep0136+pg:${sourceUrl}`, '--target', merged.url, '--json', '--reject-file', join(work, 'r.ndjson'), '--merge-archives'], {
      stdout: { write: (s) => void (out += s) },
      stderr: { write: () => undefined },
    });
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as { parity: boolean; verify: { mergedArchives: number; differences: unknown[] } };
    expect(cut).toBe(0);
    expect(report).toMatchObject({ parity: true, verify: { mergedArchives: 1, differences: [] } });
    expect(await bodies(kind, merged.url)).toHaveLength(6);
    let plain = '';
    const verified = await main(['verify', '--source', `ejabberd-xep0136+pg:${sourceUrl}`, '--target', merged.url, '--json'], { stdout: { write: (s) => void (plain += s) }, stderr: { write: () => undefined } });
    expect(verified).toBe(5);
    expect(JSON.parse(plain)).toMatchObject({ parity: false, differences: [expect.objectContaining({ archive: 'example.com/alice' })] });

    const doubled = await fresh(kind, 'merge_none');
    expect((await run('ejabberd+pg', doubled.url, false)).code).toBe(0);
    expect((await run('ejabberd-xep0136+pg', doubled.url, false)).code).toBe(0);
    expect(await bodies(kind, doubled.url)).toHaveLength(10);
  }, 60_000);
});
