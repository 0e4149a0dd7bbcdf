// `run --delta` from Prosody SQL storage: prosody-migrator's copy of a real Prosody 0.12.3 data directory in
// PostgreSQL; after the bulk run a new message arrives in prosodyarchive; the delta pass reads the archive
// streams past their sort_id mark and writes exactly that message. The target then equals one full run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { migrateToSql } from '../fixtures/prosody/migrator.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'prosody', 'real-0.12.3', 'data');
const SEED = Buffer.alloc(32, 9).toString('base64');
const databases: FreshDatabase[] = [];
let work: string;
let source: FreshDatabase;

async function query(url: string, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function target(hint: string): Promise<FreshDatabase> {
  const db = await freshPostgresDatabase(hint);
  databases.push(db);
  await query(db.url, `CREATE TABLE xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`);
  await query(db.url, `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', $1)`, [SEED]);
  return db;
}

async function cli(args: string[]): Promise<{ code: number; events: Array<Record<string, unknown>> }> {
  let stdout = '';
  const code = await main(args, { stdout: { write: (s) => void (stdout += s) }, stderr: { write: (s) => void process.stderr.write(s) } });
  return { code, events: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-prosody-delta-'));
  source = await freshPostgresDatabase('prosody_delta_src');
  databases.push(source);
  const s = postgresServer();
  await migrateToSql(FIXTURE, { driver: 'PostgreSQL', database: source.name, username: s.user, password: s.password, host: s.host, port: s.port });
}, 120_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('run --delta from Prosody SQL storage', () => {
  it('reads the archives past their sort_id mark and writes what arrived, nothing else', async () => {
    const staged = await target('prosody_delta_tgt');
    const args = (url: string): string[] => ['run', '--source', `prosody+sql:${source.url}`, '--target', url, '--create-schema', '--json', '--reject-file', join(work, 'r.ndjson')];
    const bulk = await cli(args(staged.url));
    expect([0, 3]).toContain(bulk.code);
    const mark = String((await query(source.url, `SELECT max(sort_id) AS m FROM prosodyarchive`))[0]!.m);

    // A new message in alice's archive, as mod_storage_sql writes one: a copy of her last item, a new key and time.
    const [last] = await query(source.url, `SELECT * FROM prosodyarchive WHERE "user" = 'alice' AND store = 'archive' ORDER BY sort_id DESC LIMIT 1`);
    expect(last).toBeDefined();
    const value = String(last!.value).replace(/<body>[^<]*<\/body>/, '<body>arrived after the backfill</body>');
    expect(value).toContain('arrived after the backfill');
    await query(source.url, `INSERT INTO prosodyarchive (host, "user", store, key, type, value, "when", "with") VALUES ($1, $2, $3, 'delta-new-item', $4, $5, $6, $7)`, [
      last!.host, last!.user, last!.store, last!.type, value, Number(last!.when) + 60, last!.with,
    ]);

    const delta = await cli([...args(staged.url), '--delta']);
    expect([0, 3]).toContain(delta.code);
    expect(delta.events.find((e) => e.event === 'stream-start' && e.stream === 'archives')).toMatchObject({ pass: 1, since: mark, startedFrom: 'start' });
    const summary = delta.events.find((e) => e.event === 'summary') as { kinds: Record<string, { written: number }> };
    expect(summary.kinds['archived-message']!.written).toBe(1);
    const rows = await query(staged.url, `SELECT count(*)::int AS n FROM mam_message WHERE search_body = 'arrived after the backfill'`);
    expect(rows).toEqual([{ n: 1 }]);

    const reference = await target('prosody_delta_ref');
    expect([0, 3]).toContain((await cli(args(reference.url))).code);
    const dump = async (url: string): Promise<Record<string, string[]>> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await dumpMongooseim(client);
      } finally {
        await client.end();
      }
    };
    expect(await dump(staged.url)).toEqual(await dump(reference.url));
  }, 120_000);
});
