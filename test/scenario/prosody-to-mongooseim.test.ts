// A real Prosody 0.12.3, seeded by a real client, migrated into real PostgreSQL: every message once, in order,
// with the right direction and peer; every roster item with the right codes and groups; SCRAM that verifies
// against the users' real passwords; and Prosody's own prosody-migrator copy of the same data in SQL storage
// migrates to exactly the same rows.
import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import { main } from '../../src/cli/main.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { searchBodyOf } from '../../src/encoding/search-body.js';
import { encodeMamJid } from '../../src/encoding/mam-jid.js';
import { parseJid } from '../../src/jid.js';
import type { ArchivedMessageRecord, RosterItemRecord } from '../../src/records.js';
import { bareJidString } from '../../src/records.js';
import { freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { migrateToSql } from '../fixtures/prosody/migrator.js';

const execFileP = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const silent = { stdout: { write: () => undefined }, stderr: { write: (s: string) => void process.stderr.write(s) } };
const SAME_SALT_SEED = [
  `CREATE TABLE xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`,
  `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', '${Buffer.alloc(32, 9).toString('base64')}')`,
];

let work: string;
let dataDir: string;
let passwords: Record<string, string>;
const databases: FreshDatabase[] = [];

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function migratedDatabase(source: string, hint: string): Promise<FreshDatabase> {
  const db = await freshPostgresDatabase(hint);
  databases.push(db);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  for (const statement of SAME_SALT_SEED) await client.query(statement);
  await client.end();
  expect(await main(['run', '--source', source, '--target', db.url, '--create-schema', '--quiet', '--reject-file', join(work, `${hint}.ndjson`)], silent)).toBe(0);
  return db;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-prosody-e2e-'));
  dataDir = join(work, 'prosody');
  // A real Prosody, started here, seeded over XMPP by a real client, stopped by PID.
  await execFileP(process.execPath, ['--import', 'tsx', join(root, 'test', 'fixtures', 'prosody', 'seed-real-prosody.ts'), dataDir], { cwd: root, timeout: 150_000 });
  passwords = JSON.parse(await readFile(join(dataDir, 'passwords.json'), 'utf8')) as Record<string, string>;
}, 180_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('a real Prosody migrated into MongooseIM on PostgreSQL', () => {
  it('keeps every message once, in order, with its direction and peer, and every roster item', async () => {
    const source = `prosody:${join(dataDir, 'data')}`;
    const db = await migratedDatabase(source, 'prosody_files');
    const adapter = await openSource(source, { settings: {} });
    const messages: ArchivedMessageRecord[] = [];
    const roster: RosterItemRecord[] = [];
    for (const stream of adapter.streams()) {
      for await (const item of adapter.read(stream.name)) {
        expect('reject' in item ? item.reject.message : 'ok').toBe('ok');
        if ('record' in item && item.record.kind === 'archived-message' && item.record.archive.type === 'user') messages.push(item.record);
        if ('record' in item && item.record.kind === 'roster-item') roster.push(item.record);
      }
    }
    await adapter.close();
    expect(messages.length).toBeGreaterThan(5);
    expect(messages.some((m) => /[\u{1F300}-\u{1FAFF}]/u.test(m.stanza.toString()))).toBe(true);

    const rows = await query<{ owner: string; direction: string; remote_bare_jid: string; remote_resource: string; search_body: string }>(db.url,
      `SELECT u.user_name || '@' || u.server AS owner, m.direction::text AS direction, m.remote_bare_jid, m.remote_resource, m.search_body
       FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id ORDER BY u.server, u.user_name, m.id`);
    const expected = messages.map((m) => {
      const remote = parseJid(m.remote);
      return {
        owner: bareJidString(m.archive.jid),
        direction: m.direction === 'out' ? 'O' : 'I',
        remote_bare_jid: encodeMamJid('mini', m.archive.jid, { ...remote, resource: '' }),
        remote_resource: remote.resource,
        search_body: searchBodyOf(m.stanza),
      };
    }).sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0)); // stable: keeps each archive's order
    const byOwner = (list: typeof expected): Record<string, typeof expected> =>
      list.reduce<Record<string, typeof expected>>((acc, r) => ((acc[r.owner] ??= []).push(r), acc), {});
    expect(byOwner(rows)).toEqual(byOwner(expected));

    const rosterRows = await query<{ owner: string; jid: string; subscription: string; ask: string; groups: string }>(db.url,
      `SELECT r.username || '@' || r.server AS owner, r.jid, r.subscription, r.ask,
              coalesce((SELECT string_agg(g.grp, ',' ORDER BY g.grp) FROM rostergroups g WHERE g.server = r.server AND g.username = r.username AND g.jid = r.jid), '') AS groups
       FROM rosterusers r ORDER BY 1, 2`);
    const codes = { none: 'N', to: 'T', from: 'F', both: 'B' } as const;
    const asks = { none: 'N', out: 'O', in: 'I', both: 'B' } as const;
    expect(rosterRows).toEqual(roster.map((r) => ({ owner: bareJidString(r.owner), jid: r.contact, subscription: codes[r.subscription], ask: asks[r.ask], groups: [...r.groups].sort().join(',') }))
      .sort((a, b) => `${a.owner} ${a.jid}`.localeCompare(`${b.owner} ${b.jid}`, 'en')));
    expect(rosterRows.some((r) => r.ask === 'I')).toBe(true);

    // Parity, content hash included, through the CLI's own verify.
    let verifyOut = '';
    expect(await main(['verify', '--source', source, '--target', db.url, '--json'], { ...silent, stdout: { write: (s: string) => void (verifyOut += s) } })).toBe(0);
    expect(JSON.parse(verifyOut)).toMatchObject({ parity: true, differences: [] });
  });

  it('stores SCRAM data that verifies against each user\'s real password', async () => {
    const db = await migratedDatabase(`prosody:${join(dataDir, 'data')}`, 'prosody_scram');
    const users = await query<{ jid: string; password: string; pass_details: string | null }>(db.url, `SELECT username || '@' || server AS jid, password, pass_details FROM users`);
    let checked = 0;
    for (const user of users) {
      const password = passwords[user.jid];
      expect(password, user.jid).toBeDefined();
      const details = parsePassDetails(user.pass_details!);
      for (const hash of details.hashes) {
        const digest = hash.algorithm;
        const salted = pbkdf2Sync(Buffer.from(password!, 'utf8'), hash.salt, hash.iterations, hash.storedKey.length, digest);
        const clientKey = createHmac(digest, salted).update('Client Key').digest();
        expect(createHash(digest).update(clientKey).digest().equals(hash.storedKey), `${user.jid} ${digest}`).toBe(true);
        expect(createHmac(digest, salted).update('Server Key').digest().equals(hash.serverKey), `${user.jid} ${digest}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(users.length);
  });

  it('migrates prosody-migrator\'s SQL copy of the same data to exactly the same rows', async () => {
    const fromFiles = await migratedDatabase(`prosody:${join(dataDir, 'data')}`, 'prosody_from_files');
    const sqlCopy = await freshPostgresDatabase('prosody_sql_storage');
    databases.push(sqlCopy);
    const server = postgresServer();
    await migrateToSql(join(dataDir, 'data'), { driver: 'PostgreSQL', database: sqlCopy.name, username: server.user, password: server.password, host: server.host, port: server.port });
    const fromSql = await migratedDatabase(`prosody+sql:${sqlCopy.url}`, 'prosody_from_sql');
    const dump = async (url: string): Promise<Record<string, string[]>> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await dumpMongooseim(client);
      } finally {
        await client.end();
      }
    };
    const a = await dump(fromFiles.url);
    expect(a.mam_message!.length).toBeGreaterThan(5);
    expect(a.mam_muc_message!.length).toBeGreaterThan(0);
    expect(await dump(fromSql.url)).toEqual(a);
  });
});
