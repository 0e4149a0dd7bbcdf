// `run --delta` from a snapshot source, on PostgreSQL and MariaDB: a fresh export written over the same
// path after the bulk pass (a changed password, roster groups, vCard, a new contact, user and message) is
// scanned; new rows are written, changed ones brought up to date, present ones kept. The target then holds
// exactly the rows one full migration of the second export gives.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { scramMatches } from '../fixtures/ejabberd/helpers.js';

const SEED = Buffer.alloc(32, 3).toString('base64');

function exportXml(version: 1 | 2): string {
  const password = version === 1 ? 'first-secret' : 'second-secret';
  const groups = version === 1 ? '<group>Friends</group>' : '<group>Family</group><group>Work</group>';
  const carol = version === 2 ? `<item jid='carol@example.com' name='Carol' subscription='to'><group>Work</group></item>` : '';
  const third = version === 2
    ? `<result xmlns='urn:xmpp:mam:2' id='m3'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:02:00Z'/><message xmlns='jabber:client' from='bob@example.com/pc' to='alice@example.com/phone' type='chat'><body>third, after the backfill</body></message></forwarded></result>`
    : '';
  const dave = version === 2 ? `<user name='dave' password='daves-secret'/>` : '';
  return `<?xml version='1.0' encoding='UTF-8'?>
<server-data xmlns='urn:xmpp:pie:0'>
  <host jid='example.com'>
    <user name='alice' password='${password}'>
      <query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='Bob' subscription='both'>${groups}</item>${carol}</query>
      <vCard xmlns='vcard-temp'><FN>${version === 1 ? 'Alice' : 'Alice Second'}</FN></vCard>
      <archive xmlns='urn:xmpp:pie:0#mam'>
        <result xmlns='urn:xmpp:mam:2' id='m1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/><message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.com' type='chat'><body>first</body></message></forwarded></result>
        <result xmlns='urn:xmpp:mam:2' id='m2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/><message xmlns='jabber:client' from='bob@example.com/pc' to='alice@example.com/phone' type='chat'><body>second, same second</body></message></forwarded></result>
        ${third}
      </archive>
    </user>
    <user name='bob' password='bobs-secret'/>
    ${dave}
  </host>
</server-data>
`;
}

interface Dialect {
  name: string;
  fresh(hint: string): Promise<FreshDatabase>;
  seed(url: string): Promise<void>;
  dump(url: string): Promise<Record<string, string[]>>;
  passDetails(url: string, user: string): Promise<string>;
}

const DIALECTS: Dialect[] = [
  {
    name: 'PostgreSQL',
    fresh: freshPostgresDatabase,
    async seed(url) {
      await pgQuery(url, `CREATE TABLE xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`);
      await pgQuery(url, `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', '${SEED}')`);
    },
    async dump(url) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await dumpMongooseim(client);
      } finally {
        await client.end();
      }
    },
    async passDetails(url, user) {
      return String((await pgQuery(url, `SELECT pass_details FROM users WHERE username = '${user}'`))[0]!.pass_details);
    },
  },
  {
    name: 'MariaDB',
    fresh: freshMysqlDatabase,
    async seed(url) {
      const db = await openMysql(url);
      await db.query('CREATE TABLE xmpp_migrate_meta (`key` varchar(128) NOT NULL PRIMARY KEY, value text NOT NULL) CHARACTER SET utf8mb4');
      await db.query(`INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', '${SEED}')`);
      await db.close();
    },
    async dump(url) {
      const db = await openMysql(url);
      try {
        return await dumpMongooseim(db, 'mysql');
      } finally {
        await db.close();
      }
    },
    async passDetails(url, user) {
      const db = await openMysql(url);
      try {
        const { rows } = await db.query<{ pass_details: string }>(`SELECT pass_details FROM users WHERE username = '${user}'`);
        return String(rows[0]!.pass_details);
      } finally {
        await db.close();
      }
    },
  },
];

async function pgQuery(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (s) => void (stdout += s) }, stderr: { write: (s) => void (stderr += s) } });
  return { code, stdout, stderr };
}

let work: string;
const databases: FreshDatabase[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-delta-snapshot-'));
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe.each(DIALECTS)('run --delta from a fresh export, into $name', (dialect) => {
  it('writes what is new, brings changed rows up to date, keeps the rest: the rows of one full run', async () => {
    const file = join(work, `export-${dialect.name}.xml`);
    const target = await dialect.fresh('delta_snap');
    const reference = await dialect.fresh('delta_snap_ref');
    databases.push(target, reference);
    await dialect.seed(target.url);
    await dialect.seed(reference.url);
    const args = (url: string): string[] => ['run', '--source', `xep0227:${file}`, '--target', url, '--create-schema', '--json', '--reject-file', join(work, 'r.ndjson')];

    await writeFile(file, exportXml(1));
    const bulk = await cli(args(target.url));
    expect(bulk.stderr).toBe('');
    expect(bulk.code).toBe(0);
    for (const hash of parsePassDetails(await dialect.passDetails(target.url, 'alice')).hashes) expect(scramMatches('first-secret', hash)).toBe(true);

    // Without --delta a completed migration is left alone, whatever the file says now.
    await writeFile(file, exportXml(2));
    const idle = await cli(args(target.url));
    expect(idle.code).toBe(0);
    expect(idle.stdout).toContain('"startedFrom":"already complete"');

    const delta = await cli([...args(target.url), '--delta']);
    expect(delta.stderr).toBe('');
    expect(delta.code).toBe(0);
    const summary = JSON.parse(delta.stdout.trim().split('\n').at(-1)!) as { kinds: Record<string, { written: number; present: number; updated: number }>; streams: Array<{ pass: number }> };
    expect(summary.streams.every((s) => s.pass === 1)).toBe(true);
    expect(summary.kinds.account).toMatchObject({ written: 1, updated: 1, present: 1 }); // dave new, alice changed, bob as he was
    expect(summary.kinds['roster-item']).toMatchObject({ written: 1, updated: 0, present: 1 }); // carol new; bob's groups replaced
    expect(summary.kinds.vcard).toMatchObject({ written: 0, updated: 1, present: 0 });
    expect(summary.kinds['archived-message']).toMatchObject({ written: 1, updated: 0, present: 2 });
    for (const hash of parsePassDetails(await dialect.passDetails(target.url, 'alice')).hashes) expect(scramMatches('second-secret', hash)).toBe(true);

    const full = await cli(args(reference.url));
    expect(full.code).toBe(0);
    expect(await dialect.dump(target.url)).toEqual(await dialect.dump(reference.url));

    // A second delta over an unchanged export changes nothing.
    const again = await cli([...args(target.url), '--delta']);
    expect(again.code).toBe(0);
    const quiet = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { kinds: Record<string, { written: number; updated: number }> };
    for (const stats of Object.values(quiet.kinds)) expect({ written: stats.written, updated: stats.updated }).toEqual({ written: 0, updated: 0 });
    expect(await dialect.dump(target.url)).toEqual(await dialect.dump(reference.url));
  }, 60_000);
});
