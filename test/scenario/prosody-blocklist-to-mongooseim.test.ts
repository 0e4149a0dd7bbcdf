// The XEP-0191 blocklist a real Prosody 0.12.3 wrote (mod_blocklist, the checked-in data directory) migrated by the
// real CLI into MongooseIM on PostgreSQL: the list `blocking` of jid/block items matching everything, made the
// default list, as MongooseIM's mod_blocking keeps it; a second run changes no row and no serial id.
// Expectations come from the .dat file itself (its blocked JIDs are the table's string keys), not from the adapter.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

const DATA = join(import.meta.dirname, '..', 'fixtures', 'prosody', 'real-0.12.3', 'data');
const HOST_DIR = 'example%2etest';

let work: string;
let target: FreshDatabase;

async function query(sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

async function run(): Promise<{ code: number; output: string }> {
  let output = '';
  const io = { stdout: { write: (s: string) => void (output += s) }, stderr: { write: (s: string) => void (output += s) } };
  const code = await main(['run', '--source', `prosody:${DATA}`, '--target', target.url, '--create-schema', '--quiet', '--reject-file', join(work, 'rejects.ndjson')], io);
  return { code, output };
}

/** Each user's blocked JIDs in file order: the string keys of the stored table (the `[false]` key holds metadata). */
async function blocklistsInSource(): Promise<Map<string, string[]>> {
  const dir = join(DATA, HOST_DIR, 'blocklist');
  const out = new Map<string, string[]>();
  for (const file of await readdir(dir)) {
    const text = await readFile(join(dir, file), 'utf8');
    out.set(decodeURIComponent(file.replace(/\.dat$/, '')), [...text.matchAll(/^\t\["([^"]+)"\] = /gm)].map((m) => m[1]!));
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-prosody-block-'));
  target = await freshPostgresDatabase('prosody_block');
});

afterAll(async () => {
  await target?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a real Prosody blocklist migrated into MongooseIM', () => {
  it('becomes the default privacy list "blocking" of jid/block items, and a second run changes nothing', async () => {
    const first = await run();
    expect(first.code, first.output).toBe(0);
    expect(first.output).not.toMatch(/blocklist.*does not handle/);

    const source = await blocklistsInSource();
    expect([...source.values()].flat().length).toBeGreaterThan(0);
    const lists = async () =>
      query(`SELECT l.username, l.name, l.id::text AS id, d.t, d.value, d.action, d.ord, d.match_all, d.match_iq, d.match_message, d.match_presence_in, d.match_presence_out
             FROM privacy_list l JOIN privacy_list_data d ON d.id = l.id ORDER BY l.username, d.ord`);
    const rows = await lists();
    // A blocklist is a set (Prosody keeps a Lua hash): the JIDs in any order, numbered 1..N.
    for (const [username, jids] of source) {
      const mine = rows.filter((r) => r.username === username);
      expect(mine.map((r) => r.value).sort()).toEqual([...jids].sort());
      expect(mine.map((r) => r.ord)).toEqual(jids.map((_, i) => i + 1));
      for (const { id: _id, value: _value, ord: _ord, ...r } of mine) {
        expect(r).toEqual({ username, name: 'blocking', t: 'j', action: 'b', match_all: true, match_iq: false, match_message: false, match_presence_in: false, match_presence_out: false });
      }
    }
    expect(rows.length).toBe([...source.values()].flat().length);
    expect(await query('SELECT username, name FROM privacy_default_list ORDER BY username')).toEqual([...source.keys()].sort().map((username) => ({ username, name: 'blocking' })));

    const second = await run();
    expect(second.code, second.output).toBe(0);
    expect(await lists()).toEqual(rows);
    expect(await query('SELECT count(*)::int AS n FROM privacy_list')).toEqual([{ n: source.size }]);
  });
});
